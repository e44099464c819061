#!/usr/bin/perl
# cmdarena-check --replay: past verdicts (one JSON object per line) are judged again through the
# sandbox; every verdict that differs is reported, with the agreement rate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use File::Temp qw(tempfile);
use Test::More;

my $root = Cmdarena::Stack::root();
my $check = Cmdarena::Stack::build_dir() . '/fcgi/cmdarena-check';
my ($fh, $file) = tempfile('replay-XXXXXX', TMPDIR => 1, UNLINK => 1);
print $fh <<'JSONL';
{"slug":"hello_world","cmd":"echo hello world","correct":true}
{"slug":"hello_world","cmd":"echo hello","correct":false}
{"slug":"hello_world","cmd":"printf 'hello world\\n'","correct":true}
{"slug":"hello_world","cmd":"echo goodbye","correct":true}

not json at all
{"slug":"no_such_challenge","cmd":"ls","correct":true}
JSONL
close $fh;

my $cmd = join ' ', map { "'$_'" } $check, '--challenges', "$root/challenges", '--image', Cmdarena::Stack::image(),
    '--engine', Cmdarena::Stack::engine(), '--replay', $file, '--jobs', 2;
my $out = `CMDARENA_PROGRESS=1 $cmd 2>&1`;
my $status = $? >> 8;
is($status, 1, 'a disagreement makes the exit status 1');
like($out, qr/^replaying 4 verdict\(s\) with 2 in parallel$/m, 'it says how many it replays');
like($out, qr/\[4\/4\]/, 'progress is shown');
like($out, qr/:6: not a \{"slug","cmd","correct"\} object: skipped/, 'a bad line is named by its number');
like($out, qr/:7: no challenge no_such_challenge: skipped/, 'an unknown challenge is named');
like($out, qr/^differs: hello_world: echo goodbye: was correct, now incorrect: .+$/m, 'the disagreement, with the message');
my @differs = $out =~ /^differs:/mg;
is(scalar @differs, 1, 'only that one differs');
like($out, qr/^agreement: 3 of 4 \(75\.0%\)$/m, 'the agreement rate');

# Parity: 500 real cmdchallenge verdicts replayed on the port of its catalogue agree on at least 98 %,
# and every disagreement is one explained in t/fixtures/cmdchallenge-replay-known.txt.
# The sample: drawn from cmdchallenge's testdata/user-submissions.json.gz (MIT, see
# t/fixtures/cmdchallenge/LICENSE-cmdchallenge), commands of at most 300 bytes.
my $sample = "$root/t/fixtures/cmdchallenge-submissions-sample.jsonl";
my $state = $ENV{CMDARENA_STATE} // "$root/var";
$cmd = join ' ', map { "'$_'" } $check, '--challenges', "$root/t/fixtures/cmdchallenge", '--state', $state,
    '--engine', Cmdarena::Stack::engine(), '--replay', $sample, '--jobs', 2;
$out = `$cmd 2>&1`;
my ($agree, $ran, $rate) = $out =~ /^agreement: (\d+) of (\d+) \(([\d.]+)%\)$/m;
is($ran, 500, 'all 500 verdicts were replayed') or diag $out;
cmp_ok($rate // 0, '>=', 98.0, "agreement with cmdchallenge: $agree of $ran ($rate %)");
my %known;
open(my $kh, '<', "$root/t/fixtures/cmdchallenge-replay-known.txt") or die "known disagreements: $!";
while (<$kh>) {
    next if /^#/ || !/\S/;
    chomp;
    my ($slug, $c, $why) = split /\t/, $_, 3;
    $known{"differs: $slug: $c: was "} = $why;
}
close $kh;
my $n_differs = () = $out =~ /^differs: /mg;
my $explained = 0;
for my $prefix (sort keys %known) {
    next if index($out, $prefix) < 0;
    $explained++;
    note "known: $prefix... ($known{$prefix})";
}
is($explained, $n_differs, "every disagreement ($n_differs) is a known one, with its reason")
    or diag join "\n", grep { /^differs: / } split /\n/, $out;
done_testing;
