#!/usr/bin/perl
# The shipped challenges judge themselves: cmdarena-check runs every example (must be correct,
# randomize included) and every expected failure (must be incorrect) through the real sandbox.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use TAP::Parser;
use Test::More;

my $root = Cmdarena::Stack::root();
my $check = Cmdarena::Stack::build_dir() . '/fcgi/cmdarena-check';
ok(Cmdarena::Stack::engine_answers(), 'the engine answers') or BAIL_OUT('no Docker engine');

my $lint = `'$check' --lint --challenges '$root/challenges' 2>&1`;
is($?, 0, 'the catalogue loads') or diag $lint;
is(($lint =~ /(\d+) warning/)[0], 0, 'without warnings') or diag $lint;
my ($count) = $lint =~ /: (\d+) challenges/;
cmp_ok($count, '>=', 60, "at least 60 challenges ($count)");

my $parser = TAP::Parser->new({ exec => [ $check, '--challenges', "$root/challenges",
    '--image', Cmdarena::Stack::image(), '--engine', Cmdarena::Stack::engine(), '--jobs', 2 ] });
my ($ran, @failed) = (0);
while (my $r = $parser->next) {
    if ($r->is_test) {
        $ran++;
        push @failed, $r->as_string unless $r->is_ok;
    } elsif ($r->is_comment && @failed) {
        $failed[-1] .= "\n" . $r->as_string;
    } elsif ($r->is_bailout) {
        fail('cmdarena-check bailed out: ' . $r->explanation);
    }
}
cmp_ok($ran, '>=', 2 * $count, "every example and expected failure was judged ($ran runs)");
is(scalar @failed, 0, 'all judged as the catalogue says') or diag join "\n", @failed;
is($parser->exit, 0, 'cmdarena-check exits 0');
done_testing;
