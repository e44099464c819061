#!/usr/bin/perl
# GET /healthz for load balancers: 200 with what the node has while it can run commands; 503 with
# a JSON reason when the pool keeper cannot be reached or no engine answers; never cached. The
# engine reaches the pool through a forwarding socket of this test's own, so the test can take
# the engine away from this stack (and give it back) without touching the machine's engine.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);

my $dir = tempdir('cmdarena-healthz-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $proxy_sock = "$dir/engine.sock";
my $engine_sock = Cmdarena::Stack::engine_socket();

# A byte pump from $proxy_sock to the real engine, one forked child per connection.
sub start_proxy {
    unlink $proxy_sock;
    my $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $proxy_sock, Listen => 64)
        or die "listen $proxy_sock: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) { close $listen; return $pid; }
    setpgrp(0, 0);
    $SIG{CHLD} = 'IGNORE';
    local $SIG{TERM} = sub { kill 'TERM', -$$; POSIX::_exit(0) };
    while (my $c = $listen->accept) {
        my $kid = fork // next;
        if ($kid) { close $c; next; }
        close $listen;
        my $e = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $engine_sock) or POSIX::_exit(1);
        my $sel = IO::Select->new($c, $e);
        PUMP: while (my @ready = $sel->can_read(60)) {
            for my $from (@ready) {
                my $to = $from == $c ? $e : $c;
                my $n = sysread($from, my $buf, 65536);
                last PUMP unless $n;
                my $off = 0;
                while ($off < $n) {
                    my $w = syswrite($to, $buf, $n - $off, $off) or last PUMP;
                    $off += $w;
                }
            }
        }
        POSIX::_exit(0);
    }
    POSIX::_exit(0);
}

sub stop_proxy {
    my ($pid) = @_;
    kill 'TERM', $pid;
    waitpid($pid, 0);
    unlink $proxy_sock;
}

my $proxy = start_proxy();
my $s = Cmdarena::Stack->new(conf => { engine => "unix://$proxy_sock", engine_ping_interval_ms => 200, pool_size => 1,
    reap_interval_s => 1, reap_margin_ms => 0 });

sub healthz { $s->get('/healthz', @_) }

sub wait_status {
    my ($want, $seconds) = @_;
    my $res;
    my $until = time + $seconds;
    while (time < $until) {
        $res = healthz();
        return $res if $res->{status} == $want;
        sleep 0.1;
    }
    return $res;
}

# ---- a node that can run commands ----
my $ok = healthz();
is($ok->{status}, 200, '/healthz: 200 while the node can run commands');
is($ok->{headers}{'content-type'}, 'application/json; charset=utf-8', 'JSON');
is($ok->{headers}{'cache-control'}, 'no-store', 'Cache-Control: no-store (once)');
ok(!exists $ok->{headers}{'x-cache-status'}, 'nginx never caches it (no cache status)');
is($ok->{json}{status}, 'ok', 'status ok');
is($ok->{json}{engines_up}, 1, 'one engine up of ' . ($ok->{json}{engines} // '?'));
is($ok->{json}{pool_keeper}, JSON::PP::true, 'the pool keeper answers');
is($ok->{json}{redis}, 'up', 'Redis up');
ok($ok->{json}{idle} + $ok->{json}{starting} >= 1, "containers warm or starting: idle $ok->{json}{idle}, starting $ok->{json}{starting}");
is(healthz(method => 'HEAD')->{status}, 200, 'HEAD: 200');
is(healthz(method => 'POST')->{status}, 405, 'POST: 405');
my $cache_dir = $s->dir . '/nginx/cache';
is(scalar(() = `find '$cache_dir' -type f`), 0, 'nothing in nginx\'s cache after asking');

# ---- the pool keeper cannot be reached: its socket gone ----
my $pool = $s->dir . '/run/pool.sock';
rename $pool, "$pool.away" or die "rename $pool: $!";
my $gone = healthz();
is($gone->{status}, 503, 'pool keeper unreachable: 503');
is($gone->{json}{code}, 'pool_unreachable', 'code pool_unreachable');
like($gone->{json}{error} // '', qr/pool keeper/, 'with a sentence: ' . ($gone->{json}{error} // ''));
is($gone->{json}{status}, 'unavailable', 'status unavailable');
is($gone->{headers}{'cache-control'}, 'no-store', 'the 503 is not cacheable either');
rename "$pool.away", $pool or die "rename back: $!";
is(healthz()->{status}, 200, 'the socket back: 200');

# ---- Redis down: reported, still 200 (the node answers without it) ----
$s->stop_redis;
$s->r(slug => 'hello_world', ver => 1, cmd => 'echo healthz without redis');
my $nr = healthz();
is($nr->{status}, 200, 'Redis down: still 200');
is($nr->{json}{redis}, 'down', 'and Redis reported down');
$s->start_redis;
$s->r(slug => 'hello_world', ver => 1, cmd => 'echo healthz redis back');

# ---- the engine gone ----
stop_proxy($proxy);
my $down = wait_status(503, 20);
is($down->{status}, 503, 'engine unreachable: 503 within the ping interval');
is($down->{json}{code}, 'engine_unavailable', 'code engine_unavailable');
is($down->{json}{engines_up}, 0, 'engines_up 0');
$proxy = start_proxy();
my $back = wait_status(200, 30);
is($back->{status}, 200, 'the engine back: 200 again');

# Containers whose start the outage interrupted are orphans the reaper removes (past
# hard_deadline_ms): wait for it, so the stack leaves nothing behind.
my $until = time + 40;
while (time < $until) {
    my $m = $s->metrics // {};
    my $tracked = ($m->{'cmdarena_pool_idle{engine="0"}'} // 0) + ($m->{'cmdarena_pool_creating{engine="0"}'} // 0)
        + ($m->{'cmdarena_pool_claimed{engine="0"}'} // 0);
    last if @{ Cmdarena::Stack->containers($s->node) } <= $tracked;
    sleep 0.5;
}
$s->stop;
stop_proxy($proxy);
done_testing;
