#!/usr/bin/perl
# The C unit tests (t/unit/*.c, built by `make check`): each program's TAP becomes a subtest.
# They run from the sanitizer build (ASan + UBSan) and, when a plain build is there too, once
# more under valgrind, which must report no error and no leak.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use TAP::Parser;
use Test::More;

my $build = Cmdarena::Stack::build_dir();
my $plain = $ENV{CMDARENA_PLAIN_BUILD};
my @names = map { m{/([^/]+)\.c$} ? $1 : () } sort glob("$FindBin::Bin/unit/*.c");
ok(@names >= 8, 'the unit test sources are there') or diag "found: @names";

# Build the test programs (they are check_PROGRAMS, not part of `make all`).
for my $dir (grep { defined } $build, $plain) {
    my $out = `make -s -C '$dir' check TESTS= 2>&1`;
    is($?, 0, "make check TESTS= in $dir") or diag $out;
}

sub run_tap {
    my ($label, @cmd) = @_;
    subtest $label => sub {
        my $parser = TAP::Parser->new({ exec => \@cmd, merge => 1 });
        while (my $r = $parser->next) {
            if ($r->is_test) {
                ok($r->is_ok, $r->description // '') or diag $r->as_string;
            } elsif ($r->is_comment || $r->is_unknown) {
                note $r->as_string;
            }
        }
        is($parser->exit, 0, "$cmd[-1] exits 0");
        ok($parser->tests_run > 0, 'it ran tests');
        is_deeply([$parser->parse_errors], [], 'its TAP is well formed');
    };
}

for my $name (@names) {
    run_tap("$name (sanitizers)", "$build/t/unit/$name.test");
}
if ($plain) {
    for my $name (@names) {
        run_tap("$name (valgrind)", 'valgrind', '-q', '--error-exitcode=99', '--leak-check=full',
            '--errors-for-leak-kinds=definite,indirect,possible', "$plain/t/unit/$name.test");
    }
}
done_testing;
