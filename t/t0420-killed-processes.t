#!/usr/bin/perl
# The pool's own processes killed outright (SIGKILL): nothing is left running, nothing is lost.
#  - the pool keeper: the master replaces it, requests go on, its containers are reaped;
#  - the master: its children stop by themselves and remove their containers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my $s = Cmdarena::Stack->new(workers => 2, conf => { reap_interval_s => 1, reap_margin_ms => 2000,
    timeout_ms => 5000, hard_deadline_ms => 8000 });
my $master = $s->fcgi_pid;

# The pool keeper: the child of the master whose log lines say pool[pid] (workers have threads too).
sub keeper_pid {
    my %kids = map { $_ => 1 } $s->children_of($master);
    my @pids = $s->log('fcgi') =~ /\bpool\[(\d+)\]/g;
    for my $pid (reverse @pids) {
        return $pid if $kids{$pid};
    }
    return undef;
}

my $keeper = keeper_pid();
ok($keeper, "found the pool keeper (pid " . ($keeper // '?') . ")") or BAIL_OUT('no pool keeper');
my $before = scalar @{ $s->containers($s->node) };
cmp_ok($before, '>=', 1, "the pool holds $before container(s)");

kill 'KILL', $keeper;
my $until = time + 20;
my $new;
while (time < $until) {
    $new = keeper_pid();
    last if $new && $new != $keeper;
    sleep 0.1;
}
ok($new && $new != $keeper, 'the master started a new pool keeper');
like($s->log('fcgi'), qr/pool keeper 0 \(pid $keeper\) was killed by signal 9: replacing it/, 'and logged why');
my $res = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world; echo again');
is($res->{status}, 200, 'requests are answered after the pool keeper died');
# The dead keeper's containers are orphans of this node now: the new keeper reaps them.
$until = time + 40;
my $orphans;
while (time < $until) {
    $orphans = grep { $_->{Labels}{'cmdarena.keeper'} && $_->{Labels}{'cmdarena.keeper'} == $keeper }
        @{ $s->containers($s->node) };
    last if !$orphans;
    sleep 0.5;
}
is($orphans, 0, "the dead keeper's containers were reaped");

# Now the master itself, killed outright: the children must not stay behind.
my @kids = $s->children_of($master);
cmp_ok(scalar @kids, '>=', 3, 'the master has its children (' . scalar(@kids) . ')');
kill 'KILL', $master;
$until = time + 30;
my @alive;
while (time < $until) {
    @alive = grep { kill 0, $_ and -e "/proc/$_" and (readlink("/proc/$_/exe") // '') =~ /cmdarena-fcgi/ } @kids;
    last unless @alive;
    sleep 0.1;
}
is(scalar @alive, 0, 'every child of a SIGKILLed master stopped by itself') or diag "still alive: @alive";
$until = time + 30;
my $left;
while (time < $until) {
    $left = scalar @{ $s->containers($s->node) };
    last if $left == 0;
    sleep 0.2;
}
is($left, 0, 'and removed its containers');
$s->stop;    # the launcher finds the master gone (its parent reaped it) and stops the rest
done_testing;
