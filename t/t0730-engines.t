#!/usr/bin/perl
# Several Docker engines: the machine's (unix socket) and a second dockerd of this test's own,
# reached over tcp:// with TLS client certificates. Each is health-checked and has its own warm
# pool; load spreads over both (least busy first). The second one is stopped mid-run: once the
# pool has taken it out, no request fails; it comes back and is used again; no container is left
# on either. The machine's dockerd is never touched; ours is stopped by its pid.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Dockerd;
use Cmdarena::Load;
use Cmdarena::Stack;
use Test::More;
use Time::HiRes qw(sleep time);

my $dd = Cmdarena::Dockerd->new(tls => 1);
ok($dd->answers, 'our dockerd answers (pid ' . $dd->pid . '), with the sandbox image loaded');
my $s = Cmdarena::Stack->new(workers => 4, conf => {
    engine => [Cmdarena::Stack::engine(), $dd->tls_engine],
    pool_size => 2, reap_margin_ms => 0, reap_interval_s => 1, engine_ping_interval_ms => 200,
});
note 'state: ' . $s->dir . ', second engine: ' . $dd->dir;

sub wait_metric {
    my ($timeout, $test) = @_;
    my $until = time + $timeout;
    while (time < $until) {
        my $m = $s->metrics;
        return $m if $m && $test->($m);
        sleep 0.1;
    }
    return undef;
}
sub takes { my ($m, $e) = @_; $m->{"cmdarena_pool_takes_total{engine=\"$e\"}"} // 0 }

# ---- both engines up, each with its pool ----
my $m = wait_metric(60, sub { $_[0]{'cmdarena_engine_up{engine="1"}'} && $_[0]{'cmdarena_pool_idle{engine="1"}'} });
ok($m, 'the TLS engine is up and has warm containers') or diag $s->log('fcgi');
$m //= $s->metrics;
is($m->{'cmdarena_engine_up{engine="0"}'}, 1, 'engine 0 (unix socket) is up');
my ($port) = $dd->tls_engine =~ m{^tcp://127\.0\.0\.1:(\d+) };
ok(exists $m->{qq{cmdarena_engine_info{engine="1",url="tcp://127.0.0.1:$port"}}}, 'engine 1 is tcp://127.0.0.1:' . $port);
my $on_b = $dd->containers($s->node);
ok(scalar(grep { $_->{State} eq 'running' } @$on_b) >= 1, 'our dockerd runs this stack\'s warm containers: '
    . join(' ', map { $_->{State} } @$on_b));

# Clients sending distinct commands (each one an execution).
sub clients {
    my ($n, $tag, $count) = @_;
    return Cmdarena::Load->start(clients => $n, count => $count,
        url => sub { $s->url(slug => 'hello_world', ver => 1, cmd => "echo hello world # $tag $_[0] $_[1]") });
}
sub failed { grep { $_->[2] != 200 || $_->[4] ne 'correct' } @_ }
sub show { join "\n", map { "@$_" } @_ }

# ---- load spreads over both engines ----
my $m0 = $s->metrics;
my $load = clients(4, 'spread', 10);
$load->finish;
my @spread = $load->results;
is(scalar @spread, 40, '40 requests from 4 clients');
my @bad = failed(@spread);
is(scalar @bad, 0, 'all correct verdicts') or diag show(@bad);
my $m1 = $s->metrics;
my @took = map { takes($m1, $_) - takes($m0, $_) } 0, 1;
is($took[0] + $took[1], 40, "40 containers taken: $took[0] on engine 0, $took[1] on engine 1");
ok($took[0] >= 6 && $took[1] >= 6, 'both engines did a fair share (at least 6 of 40 each)');

# ---- engine 1 stops mid-run ----
$load = clients(3, 'failover');
sleep 2;
my $t_stop = time;
ok($dd->stop, 'our dockerd stopped (SIGTERM to its pid)');
my $down = wait_metric(10, sub { ($_[0]{'cmdarena_engine_up{engine="1"}'} // 1) == 0 });
my $t_down = time;
ok($down, sprintf('the pool saw engine 1 down within %.1f s of the stop', $t_down - $t_stop));
my $takes_down = takes($s->metrics, 1);
# Keep the load on until a dozen requests started after the window have ended (at most 40 s).
my $load_until = time + 40;
sleep 0.5 while time < $load_until && grep({ $_->[0] >= $t_down + 0.2 } $load->results) < 12;
$load->stop;
my @failover = $load->results;
my @before = grep { $_->[0] < $t_down + 0.2 } @failover;
my @after = grep { $_->[0] >= $t_down + 0.2 } @failover;
ok(@after >= 12, 'requests kept coming after the failover window: ' . scalar @after);
@bad = failed(@after);
is(scalar @bad, 0, 'after the failover window every request got its verdict') or diag show(@bad);
my @failed = grep { $_->[2] != 200 } @before;
note scalar(@failed) . ' of ' . scalar(@before) . ' requests around the stop failed: '
    . join(', ', map { "$_->[2] $_->[4]" } @failed);
ok(!grep({ $_->[4] !~ /^(?:sandbox_error|engine_unavailable|sandbox_busy|sandbox_unavailable|deadline_exceeded|bad_verdict)$/ } @failed),
    'those that failed in the window got a JSON error saying why');
is(takes($s->metrics, 1), $takes_down, 'nothing was taken from the stopped engine');

# ---- engine 1 comes back: used again, its leftovers removed ----
ok($dd->start, 'our dockerd started again (same data root)');
$m = wait_metric(30, sub { $_[0]{'cmdarena_engine_up{engine="1"}'} && $_[0]{'cmdarena_pool_idle{engine="1"}'} });
ok($m, 'the pool took engine 1 back and filled it');
# Containers the shutdown stopped are orphans now: the reaper removes them.
my $until = time + 30;
my $left;
while (time < $until) {
    $left = [grep { $_->{State} ne 'running' } @{ $dd->containers($s->node) }];
    last unless @$left;
    sleep 0.5;
}
is(scalar @$left, 0, 'the containers stopped with the engine were reaped') or diag join "\n", map { "$_->{Id} $_->{State}" } @$left;
$m0 = $s->metrics;
$load = clients(4, 'back', 5);
$load->finish;
@bad = failed($load->results);
is(scalar @bad, 0, '20 more requests: all correct') or diag show(@bad);
ok(takes($s->metrics, 1) > takes($m0, 1), 'engine 1 is used again');

# ---- nothing left on either engine ----
$s->stop;    # checks the machine's engine
my $on_b_left = $dd->containers($s->node);
is(scalar @$on_b_left, 0, 'no container of this stack left on our dockerd') or
    diag join "\n", map { "$_->{Id} $_->{State}" } @$on_b_left;
my $dd_pid = $dd->pid;
$dd->destroy;
ok(!kill(0, $dd_pid), "our dockerd (pid $dd_pid) is stopped");
ok(!-d $dd->dir, 'its directories are gone') unless $ENV{CMDARENA_KEEP};

done_testing;
