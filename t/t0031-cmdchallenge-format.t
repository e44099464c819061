#!/usr/bin/perl
# A catalogue in cmdchallenge's own format (t/fixtures/cmdchallenge: a few entries of ours and the
# port of cmdchallenge's whole catalogue, oops track included) loads and is judged without edits:
# cmdarena-check builds an image for it and judges every example correct and every expected failure
# incorrect, and a stack serving it judges its challenges.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $root = Cmdarena::Stack::root();
my $fixture = "$root/t/fixtures/cmdchallenge";
my $check = Cmdarena::Stack::build_dir() . '/fcgi/cmdarena-check';
my $state = $ENV{CMDARENA_STATE} // "$root/var";

my $lint = `'$check' --challenges '$fixture' --lint 2>&1`;
like($lint, qr/: (\d+) challenges, 0 warning\(s\)$/m, 'the fixture loads without a warning') or diag $lint;
my ($n_challenges) = $lint =~ /: (\d+) challenges/;
cmp_ok($n_challenges // 0, '>=', 64, "all of it: $n_challenges challenges (cmdchallenge's 62 and ours)");

my $out = `'$check' --challenges '$fixture' --state '$state' --engine '@{[Cmdarena::Stack::engine()]}' --jobs 2 2>&1`;
is($?, 0, 'cmdarena-check builds an image for the fixture and passes it') or diag $out;
like($out, qr/^1\.\.\d+$/m, 'it printed TAP');
unlike($out, qr/^not ok/m, 'no test failed') or diag join "\n", $out =~ /^(not ok.*)$/mg;
for my $slug (qw(oops_cwd oops_list_files oops_print_file_contents oops_print_process oops_kill_a_process)) {
    like($out, qr/^ok \d+ - \Q$slug\E: example /m, "the oops track is judged: $slug");
}

# The image it built, found again by its hash (the second build is a no-op that prints the tag).
my $image = `'$root/runner/image/build' --runner '@{[Cmdarena::Stack::build_dir()]}/runner/cmdarena-runner' --challenges '$fixture' --state '$state' 2>/dev/null`;
chomp $image;
like($image, qr/^cmdarena-sandbox:[0-9a-f]{16}$/, "the fixture's image: $image");

local $ENV{CMDARENA_IMAGE} = $image;
my $s = Cmdarena::Stack->new(challenges => $fixture, conf => { pool_size => 1 });
my %cases = (
    'say_hi: echo hi there'          => [ say_hi => 4, q{echo 'hi there'}, 1 ],
    'say_hi: echo hi'                => [ say_hi => 4, 'echo hi', 0 ],
    'countdown_files with re_sub $1' => [ countdown_files => 2, 'find . -name "[0-9]*"', 1 ],
    'menu_prices: regex lines'       => [ menu_prices => 1, q{grep -E '[0-9]$' menu.txt}, 1 ],
    'menu_prices: not the whole file' => [ menu_prices => 1, 'cat menu.txt', 0 ],
    'cmd-no-bin: builtins work'      => [ only_builtins => 1, 'read -r l < menu.txt; echo "$l"', 1 ],
    'cmd-no-bin: head is not there'  => [ only_builtins => 1, 'head -n1 menu.txt', 0 ],
    'ignore_non_matching'            => [ some_lines_only => 1, 'cat menu.txt', 1 ],
);
for my $label (sort keys %cases) {
    my ($slug, $ver, $cmd, $want) = @{ $cases{$label} };
    my $res = $s->r(slug => $slug, ver => $ver, cmd => $cmd);
    is($res->{status}, 200, "$label: 200");
    is($res->{json}{correct} ? 1 : 0, $want, "$label: " . ($want ? 'correct' : 'incorrect'))
        or diag explain $res->{json};
}
my $nobin = $s->r(slug => 'only_builtins', ver => 1, cmd => 'ls');
like($nobin->{json}{output}, qr/ls: command not found/, 'cmd-no-bin: ls is not found');
# A cmd-no-bin challenge with a randomize script: the script runs, the command still finds no binary.
my $rnd = $s->r(slug => 'oops_list_files', ver => 3, cmd => 'echo *');
ok($rnd->{json}{correct}, 'cmd-no-bin with randomize: echo * is correct') or diag explain $rnd->{json};
# Not even where the scripts find their tools.
for my $tool (qw(ls cat find /usr/bin/ls /opt/cmdarena/judge-bin/ls)) {
    my $res = $s->r(slug => 'oops_list_files', ver => 3, cmd => "$tool .");
    ok(!$res->{json}{correct}, "cmd-no-bin with randomize: $tool is judged incorrect");
    like($res->{json}{output}, qr/\Q$tool\E: (command not found|No such file or directory|Permission denied)/,
        "... and cannot be run") or diag $res->{json}{output};
}

# cache_incorrect: false in the YAML: an incorrect verdict is not kept by nginx.
my $first = $s->r(slug => 'say_hi', ver => 4, cmd => 'echo nope');
my $second = $s->r(slug => 'say_hi', ver => 4, cmd => 'echo nope');
isnt($second->{headers}{'x-cache-status'}, 'HIT', 'cache_incorrect: false is honoured by nginx');
$s->stop;
done_testing;
