#!/usr/bin/perl
# Last of the suite: no container made by a test stack is left on the engine.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Test::More;

ok(Cmdarena::Stack::engine_answers(), 'the engine answers');
# Test stacks label their containers t-<pid>-<n>; a stack whose test process still runs (another
# suite on the same engine) is not finished yet, so only dead owners' containers count as leaks.
my @left = grep {
    my ($pid) = ($_->{Labels}{'cmdarena.node'} // '') =~ /^t-(\d+)-/;
    defined $pid && !kill(0, $pid);
} @{ Cmdarena::Stack->containers };
is(scalar @left, 0, 'no cmdarena container from the tests is left') or
    diag join "\n", map { "$_->{Id} node=$_->{Labels}{'cmdarena.node'} $_->{State}" } @left;
done_testing;
