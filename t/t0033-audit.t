#!/usr/bin/perl
# cmdarena-check --audit: every forgery strategy and every expected failure (across randomizations)
# on every shipped challenge must be judged incorrect; and on a fixture whose judging is weak
# (t/fixtures/audit) the audit must find the forgeries, skip the allowed one with its reason and
# pass the sound challenges.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use TAP::Parser;
use Test::More;
use Time::HiRes qw(time);

my $root = Cmdarena::Stack::root();
my $check = Cmdarena::Stack::build_dir() . '/fcgi/cmdarena-check';
my $state = $ENV{CMDARENA_STATE} // "$root/var";
ok(Cmdarena::Stack::engine_answers(), 'the engine answers') or BAIL_OUT('no Docker engine');

# Run the audit; return its exit status, the test lines (with their comments) and the summary.
sub audit {
    my (@args) = @_;
    my $parser = TAP::Parser->new({ exec => [ $check, '--audit', '--engine', Cmdarena::Stack::engine(),
        '--state', $state, '--jobs', 2, @args ] });
    my (@tests, $summary, $bailed);
    while (my $r = $parser->next) {
        if ($r->is_test) {
            push @tests, { ok => $r->is_ok, skip => $r->has_skip, text => $r->as_string, diag => '' };
        } elsif ($r->is_comment) {
            $summary = $r->as_string if $r->as_string =~ /^# audit:/;
            $tests[-1]{diag} .= $r->as_string . "\n" if @tests && $r->as_string =~ /^#   /;
        } elsif ($r->is_bailout) {
            $bailed = $r->explanation;
        }
    }
    return { exit => $parser->exit, tests => \@tests, summary => $summary // '', bailed => $bailed,
        errors => [ $parser->parse_errors ] };
}

# The fixture: weak judging is caught, the sound challenges pass, an allowance is honoured.
my $fx = audit('--challenges', "$root/t/fixtures/audit");
ok(!defined $fx->{bailed}, 'the fixture audit ran') or diag $fx->{bailed};
is_deeply($fx->{errors}, [], 'its TAP is well formed');
is($fx->{exit}, 1, 'the audit of a weak catalogue exits 1');
my %line = map { ($_->{text} =~ /^(?:not )?ok \d+ - (\w+: [\w ]+?)(?: judged| could| #|$)/) ? ($1 => $_) : () } @{ $fx->{tests} };
my $forged = $line{'weak_copy: empty_layout'};
ok($forged && !$forged->{ok} && $forged->{text} =~ /judged correct$/,
    'weak_copy: emptying the files the example leaves is found (the check only asks that they exist)')
    or diag explain $forged;
like($forged ? $forged->{diag} : '', qr/^#   command:\n#     \| \(\n#     \| cp settings\.ini backup\//m,
    'the diagnosis shows the forged command');
my $ef = $line{'weak_count: expected failure 1'};
ok($ef && !$ef->{ok} && $ef->{text} =~ /judged correct \((\d+) of (\d+)\)$/ && $2 >= 20,
    'weak_count: an expected failure right on one draw in two is found across 20 randomizations')
    or diag explain $ef;
my @sound = grep { $_->{text} =~ / - (strong_copy|wipe_all|constant): / } @{ $fx->{tests} };
cmp_ok(scalar @sound, '>=', 3 * 17, 'the sound challenges were attacked with every strategy');
is_deeply([ map { $_->{text} } grep { !$_->{ok} } @sound ], [], 'and nothing forged them')
    or diag join "\n", map { $_->{text} . "\n" . $_->{diag} } grep { !$_->{ok} } @sound;
my $allowed = $line{'wipe_all: delete_everything'};
ok($allowed && $allowed->{ok} && $allowed->{text} =~ /# SKIP allowed: deleting everything is the task$/,
    'wipe_all: the allowed strategy is skipped with its reason') or diag explain $allowed;
my $covered = $line{'constant: kill_replay'};
ok($covered && $covered->{ok} && $covered->{text} =~ /# SKIP allowed: replay is allowed: the answer is the constant the task names$/,
    'constant: allowing replay allows the strategies that print the hard-coded answer') or diag explain $covered;
ok($line{'constant: print_nothing'} && $line{'constant: print_nothing'}{ok} && !$line{'constant: print_nothing'}{skip},
    'but not the others');
my $strong_ef = $line{'strong_copy: expected failure 2'};
ok($strong_ef && $strong_ef->{ok}, 'strong_copy: its expected failures are judged incorrect');
like($fx->{summary}, qr/^# audit: 5 challenge\(s\), \d+ tests: .* [1-9]\d* forged/, 'the summary counts the forgeries');

# The shipped catalogue: clean.
my $t0 = time;
my $all = audit('--challenges', "$root/challenges", '--image', Cmdarena::Stack::image());
my $took = time - $t0;
ok(!defined $all->{bailed}, 'the catalogue audit ran') or diag $all->{bailed};
is_deeply($all->{errors}, [], 'its TAP is well formed');
my $lint = `'$check' --lint --challenges '$root/challenges' 2>&1`;
my ($count) = $lint =~ /: (\d+) challenges/;
cmp_ok(scalar @{ $all->{tests} }, '>=', $count * 17, "every challenge was attacked ($count challenges)");
my @bad = grep { !$_->{ok} } @{ $all->{tests} };
is(scalar @bad, 0, 'no forgery judged correct, every attack judged') or diag join "\n", map { $_->{text} . "\n" . $_->{diag} } @bad;
is($all->{exit}, 0, 'cmdarena-check --audit exits 0');
diag sprintf('the audit of %d challenges took %.0f s; %s', $count // 0, $took, $all->{summary});
done_testing;
