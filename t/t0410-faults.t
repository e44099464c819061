#!/usr/bin/perl
# Faults (issue 4): the service degrades clearly and heals by itself.
#
#   - a worker killed (SIGKILL) in the middle of a request: the master replaces it, the client gets
#     nginx's JSON 502, nothing is cached, the container it held is removed at once;
#   - Redis stopped: requests are answered by executing, one warning per outage, caching resumes
#     when Redis returns, without a restart;
#   - nginx reloaded and cmdarena-fcgi sent SIGHUP while requests run: none fails;
#   - the Docker engine stopped: 503 JSON within a second, never cached, execution resumes when it
#     returns; the engine hanging (SIGSTOP): the hard deadline fires (504 JSON), the worker is free
#     again, and after SIGCONT things heal.
#
# The engine faults use a second dockerd of this test's own (Cmdarena::Dockerd: own socket, data
# and exec roots, ./arena's flags, the sandbox image loaded): the machine's engine is never touched.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Cmdarena::Dockerd;
use Digest::SHA qw(sha256_hex);
use File::Find;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $HARD_DEADLINE_S = 10;	# hard_deadline_ms's default
my $json = JSON::PP->new->utf8->canonical;
my $run = "$$-" . int(time);	# makes every command of this run new to the caches

# ---- helpers ------------------------------------------------------------------------------------

# GET in a child process; collect() waits for it and returns the reply (with {took}).
sub async_get {
    my ($s, $path) = @_;
    my $file = $s->dir . "/async-" . int(rand(1e9)) . '.json';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $t0 = time;
        my $res = $s->get($path);
        my %keep = (status => $res->{status}, content => $res->{content}, headers => $res->{headers},
            took => time - $t0);
        open(my $fh, '>', $file) or POSIX::_exit(1);
        print $fh $json->encode(\%keep);
        close $fh;
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file, path => $path };
}

sub collect {
    my ($h) = @_;
    waitpid($h->{pid}, 0);
    open(my $fh, '<', $h->{file}) or return { status => 0, content => "no reply recorded for $h->{path}" };
    local $/;
    my $res = $json->decode(<$fh>);
    close $fh;
    $res->{json} = eval { $json->decode($res->{content}) } if length($res->{content} // '');
    return $res;
}

sub r_path {
    my ($cmd) = @_;
    return '/r?slug=hello_world&ver=1&cmd=' . Cmdarena::Stack::uri_escape($cmd);
}

sub timed_get {
    my ($s, $path) = @_;
    my $t0 = time;
    my $res = $s->get($path);
    $res->{took} = time - $t0;
    return $res;
}

# Is there a cached answer for cmd in nginx's cache? Each cache file starts with a "KEY: ..." line
# holding the request's key, which holds the query as sent (whatever the key's exact format).
sub in_nginx_cache {
    my ($s, $cmd) = @_;
    my $needle = 'cmd=' . Cmdarena::Stack::uri_escape($cmd);
    my $found = 0;
    find(sub {
        return unless -f $_ && open(my $fh, '<', $_);
        read($fh, my $head, 4096);
        $found = 1 if ($head // '') =~ /^KEY: ([^\n]*)/m && index($1, $needle) >= 0;
    }, $s->dir . '/nginx/cache');
    return $found;
}

sub in_redis {
    my ($s, $cmd) = @_;
    return grep { !/:lock$/ } split /\n/, $s->redis('--scan', '--pattern', 'cmdarena:v:*:hello_world:1:' . sha256_hex($cmd));
}

sub count_log {
    my ($s, $re) = @_;
    return scalar(() = $s->log('fcgi') =~ /$re/g);
}

sub wait_until {
    my ($seconds, $cond) = @_;
    my $until = time + $seconds;
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->() ? 1 : 0;
}

sub is_verdict {
    my ($res, $label) = @_;
    is($res->{status}, 200, "$label: 200") or diag $res->{content};
    is(ref $res->{json} eq 'HASH' && $res->{json}{correct} ? 1 : 0, 1, "$label: judged correct") or diag $res->{content};
}

sub is_json_error {
    my ($res, $status, $code, $label) = @_;
    is($res->{status}, $status, "$label: status $status") or diag $res->{content};
    is(ref $res->{json} eq 'HASH' ? $res->{json}{code} : undef, $code, "$label: code $code") or diag $res->{content};
    like(ref $res->{json} eq 'HASH' ? $res->{json}{error} // '' : '', qr/\w.*\w/, "$label: a sentence says why");
    like($res->{headers}{'cache-control'} // '', qr/no-store/, "$label: Cache-Control: no-store");
    isnt($res->{headers}{'x-cache-status'} // '', 'HIT', "$label: not from nginx's cache");
}

# How many processes on the host run exactly `sleep $arg` (the containers' processes are the host's).
sub host_sleeps {
    my ($arg) = @_;
    my $n = 0;
    for my $f (glob '/proc/[0-9]*/cmdline') {
        open(my $fh, '<', $f) or next;
        $n++ if (<$fh> // '') eq "sleep\0$arg\0";
    }
    return $n;
}

sub workers_of {
    my ($s, $pool_pid) = @_;
    return grep { $_ != $pool_pid } $s->children_of($s->fcgi_pid);
}

sub pool_pid {
    my ($s) = @_;
    my ($pid) = $s->log('fcgi') =~ /pool\[(\d+)\] pool: keeping/;
    return $pid;
}

# ---- stack A: the machine's engine ---------------------------------------------------------------

{
    # One request per worker process (worker_threads 1): killing one fails exactly its request.
    my $s = Cmdarena::Stack->new(workers => 2, conf => { pool_size => 3, worker_threads => 1 });

    # An orphan: a started sandbox container of this node that no pool keeper knows (as a crashed
    # keeper or an engine restart leaves them). The reaper must remove it once it is older than
    # the hard deadline plus the margin (21 s by default); it is checked at the end of this stack.
    my ($cst, $orphan) = $s->docker('POST', '/containers/create', $json->encode({
        Image => Cmdarena::Stack::image(), OpenStdin => JSON::PP::true, NetworkDisabled => JSON::PP::true,
        Labels => { cmdarena => '1', 'cmdarena.node' => $s->node, 'cmdarena.variant' => 'cmd' },
        HostConfig => { NetworkMode => 'none', ReadonlyRootfs => JSON::PP::true, CapDrop => ['ALL'] } }));
    is($cst, 201, 'an orphan container is created') or diag explain $orphan;
    my $orphan_id = ref $orphan eq 'HASH' ? $orphan->{Id} // '' : '';
    my ($sst) = $s->docker('POST', "/containers/$orphan_id/start");
    is($sst, 204, 'and started');
    my $orphan_born = time;

    # The cache probes below must be able to see a cached verdict (a positive control).
    my $control = "echo hello world # control $run";
    is_verdict($s->get(r_path($control)), 'a plain verdict');
    ok(in_nginx_cache($s, $control), "a verdict is seen in nginx's cache");
    ok(in_redis($s, $control), 'and in Redis');

    # -- a worker killed mid-request --
    my $pool = pool_pid($s);
    ok($pool, "the pool keeper's pid is in the log");
    my @workers = workers_of($s, $pool);
    is(scalar @workers, 2, 'two workers run');
    # (4.1 s: long enough to catch both running on a busy machine, inside the 5 s budget, and a
    # command line no other test runs.) Both workers are busy once two such sleeps run on the host.
    ok(wait_until(20, sub { ($s->metrics->{'cmdarena_pool_idle{engine="0"}'} // 0) >= 2 }), 'two containers wait in the pool');
    my @cmds = map { "sleep 4.1; echo hello world # kill $run $_" } 1 .. 2;
    my @h = map { async_get($s, r_path($_)) } @cmds;
    my $both = wait_until(20, sub { host_sleeps('4.1') == 2 });
    ok($both, 'both workers are running a sleep 4.1 in a container');
    my $victim = $workers[0];
    ok(kill('KILL', $victim), "kill -9 worker $victim");
    my @res = map { collect($_) } @h;
    my @failed = grep { $res[$_]{status} != 200 } 0 .. 1;
    is(scalar @failed, 1, 'exactly one of the two requests failed');
    my $i = $failed[0] // 0;
    my ($bad, $good) = ($res[$i], $res[1 - $i]);
    is_json_error($bad, 502, 'upstream_unavailable', 'the killed request');
    is($good->{status}, 200, 'the other request, on the other worker: 200') or diag $good->{content};
    ok(ref $good->{json} eq 'HASH' && exists $good->{json}{correct}, 'the other request: a verdict') or diag $good->{content};
    ok(wait_until(5, sub { ($s->metrics->{cmdarena_workers_alive} // 0) == 2 }), 'the master started a replacement');
    is($s->metrics->{cmdarena_workers_respawned_total}, 1, 'one worker respawned');
    like($s->log('fcgi'), qr/worker \d+ \(pid $victim\) was killed by signal 9: replacing it/, 'the master logged it');
    my ($held) = $s->log('fcgi') =~ /a worker went away holding container ([0-9a-f]{12})/;
    ok($held, 'the pool keeper saw the worker go and removes its container') or diag $s->log('fcgi');
    ok(wait_until(5, sub { !grep { index($_->{Id}, $held // 'none') == 0 } @{ $s->containers($s->node) } }),
        "container $held is gone from the engine");
    cmp_ok($s->metrics->{'cmdarena_containers_reaped_total{engine="0"}'}, '>=', 1, 'counted as reaped');
    ok(!in_nginx_cache($s, $cmds[$i]), "the 502 is not in nginx's cache");
    ok(!in_redis($s, $cmds[$i]), 'nothing is in Redis for it');
    # The retry waits for the dead worker's in-flight lock to expire, then really runs: let it go
    # on in the background while Redis is tested (it needs Redis up only at its start and end).
    my $retry = async_get($s, r_path($cmds[$i]));

    # -- Redis stopped and started, twice --
    my $warn = qr/redis is unusable \([^)]*\): answering without the cache until it returns/;
    my $before = $s->executions;
    sleep 0.5;
    for my $outage (1, 2) {
        $s->stop_redis;
        my @r = map { timed_get($s, r_path("echo hello world # redis $run $outage $_")) } 1 .. 4;
        is_verdict($_, "Redis down (outage $outage): still answered by executing") for @r;
        is((grep { ($_->{headers}{'x-cmdarena-layer'} // '') eq 'executed' } @r), 4, "outage $outage: all four executed");
        cmp_ok($_->{took}, '<', $HARD_DEADLINE_S, "outage $outage: in time") for @r;
        is($s->metrics->{cmdarena_redis_up}, 0, "outage $outage: /metrics says Redis is down");
        is(count_log($s, $warn), $outage, "outage $outage: one warning for the outage, however many requests");
        $s->start_redis;
        # Each try is a new command: a verdict answered without Redis is still in nginx's cache.
        my ($n, $cmd) = (0);
        my $stored = wait_until(10, sub {
            $cmd = "echo hello world # redis back $run $outage " . ++$n;
            my $r = $s->get(r_path($cmd));
            return $r->{status} == 200 && in_redis($s, $cmd);
        });
        ok($stored, "outage $outage over: verdicts are stored in Redis again, no restart ($n tries)");
        # Every worker answers from Redis again (one that failed in the last second waits that out).
        my $layer = '';
        ok(wait_until(5, sub {
            $s->wipe_nginx_cache;
            $layer = $s->get(r_path($cmd))->{headers}{'x-cmdarena-layer'} // '';
            return $layer eq 'redis';
        }), "outage $outage over: and answered from Redis (last: $layer)");
        is($s->metrics->{cmdarena_redis_up}, 1, "outage $outage over: /metrics says Redis is up");
        like($s->log('fcgi'), qr/redis \S+ is back: caching again/, "outage $outage over: logged");
    }
    cmp_ok($s->executions, '>', $before, 'commands ran during the outages');

    # Redis restarted while no request ran: each worker's connection is stale, which is no outage.
    # Both workers hold a connection (two requests at once), Redis restarts, both work again.
    my $burst = sub {
        my ($tag) = @_;
        my @cmds = map { "sleep 1; echo hello world # $tag $run $_" } 1 .. 2;
        my @res = map { collect($_) } map { async_get($s, r_path($_)) } @cmds;
        return (\@cmds, \@res);
    };
    $burst->('before restart');
    $s->stop_redis;
    $s->start_redis;
    my ($cmds, $res) = $burst->('after restart');
    is_verdict($_, 'Redis restarted between requests: answered') for @$res;
    ok(in_redis($s, $_), "Redis restarted between requests: '$_' stored at once") for @$cmds;
    is(count_log($s, $warn), 2, 'a restart between requests is no outage: no warning');

    my $retried = collect($retry);
    is($retried->{status}, 200, 'the killed request, retried: not cached, it runs afresh: 200') or diag $retried->{content};
    ok(ref $retried->{json} eq 'HASH' && exists $retried->{json}{correct}, 'the retry: a verdict') or diag $retried->{content};
    is($retried->{headers}{'x-cache-status'}, 'MISS', 'the retry is an nginx MISS');

    # -- nginx reload and cmdarena-fcgi SIGHUP while requests run --
    # Both workers hold a slow request when the signals come; one client keeps asking meanwhile
    # (served by whichever generation accepts it).
    my $reloads = $s->metrics->{cmdarena_reloads_total} // 0;
    my @inflight = map { async_get($s, r_path("sleep 2; echo hello world # hup $run $_")) } 1 .. 2;
    sleep 0.5;
    ok($s->reload_nginx, 'SIGHUP to nginx');
    ok(kill('HUP', $s->fcgi_pid), 'SIGHUP to cmdarena-fcgi');
    my @during = map { timed_get($s, r_path("echo hello world # during hup $run $_")) } 1 .. 6;
    my @done = ((map { collect($_) } @inflight), @during);
    is(scalar(grep { $_->{status} == 200 && $_->{json} && $_->{json}{correct} } @done), 8,
        'all 8 requests around the reloads got a correct verdict')
        or diag join "\n", map { "$_->{status} $_->{content}" } grep { $_->{status} != 200 } @done;
    ok(wait_until(10, sub { ($s->metrics->{cmdarena_reloads_total} // 0) == $reloads + 1 }), 'cmdarena-fcgi reloaded once');
    ok(wait_until(15, sub { scalar(workers_of($s, -1)) == 3 }), 'the old generation finished: 2 workers and a pool keeper');
    is_verdict($s->get(r_path("echo hello world # after the reloads $run")), 'after the reloads');

    my $reaped = wait_until(40, sub { !grep { $_->{Id} eq $orphan_id } @{ $s->containers($s->node) } });
    ok($reaped, sprintf('the orphan was reaped (%.0f s after it was made)', time - $orphan_born));
    like($s->log('fcgi'), qr/reaping orphan container \Q${\ substr($orphan_id, 0, 12)}\E/, 'the pool keeper logged it');
    $s->stop;
}

# ---- stack B: an engine of our own, stopped and hung ---------------------------------------------

my $dd = Cmdarena::Dockerd->new;
ok($dd->answers, 'our dockerd answers (pid ' . $dd->pid . ') with the sandbox image loaded');
{
    local $ENV{CMDARENA_ENGINE} = $dd->url;
    my $s = Cmdarena::Stack->new(workers => 1, conf => { pool_size => 2 });
    is_verdict($s->get(r_path('echo hello world')), 'a verdict from our own engine');
    my $hits = $s->executions;

    # -- the engine stopped --
    ok($dd->stop, 'our dockerd stopped (SIGTERM to its pid)');
    for my $try (1, 2) {
        my $keys = $s->redis('DBSIZE');
        my $res = timed_get($s, r_path("echo hello world # no engine $run"));
        is_json_error($res, 503, 'engine_unavailable', "engine stopped (try $try)");
        cmp_ok($res->{took}, '<', 1, sprintf("engine stopped (try $try): answered within a second (%.2f s)", $res->{took}));
        like($res->{headers}{'retry-after'} // '', qr/^\d+$/, "engine stopped (try $try): Retry-After");
        is($s->redis('DBSIZE'), $keys, "engine stopped (try $try): nothing stored in Redis");
    }
    ok(!in_nginx_cache($s, "echo hello world # no engine $run"), "the 503 is not in nginx's cache");
    $s->wipe_nginx_cache;
    my $cached = $s->get(r_path('echo hello world'));
    is($cached->{headers}{'x-cmdarena-layer'}, 'redis', 'engine stopped: a known verdict still comes from Redis');
    is($s->metrics->{'cmdarena_engine_up{engine="0"}'}, 0, '/metrics says the engine is down');

    ok($dd->start && $dd->answers, 'our dockerd started again (same data root)');
    my $healed = wait_until(30, sub {
        $s->get(r_path("echo hello world # engine back $run"))->{status} == 200;
    });
    ok($healed, 'the engine is back: execution resumes by itself');
    is_verdict($s->get(r_path("echo hello world # engine back $run")), 'after the engine returned');

    # -- the engine hanging --
    ok(wait_until(10, sub { ($s->metrics->{'cmdarena_pool_idle{engine="0"}'} // 0) >= 1 }), 'the pool is warm again');
    ok(kill('STOP', $dd->pid), 'SIGSTOP to our dockerd');
    my $hung = timed_get($s, r_path("echo hello world # hung $run"));
    is_json_error($hung, 504, 'deadline_exceeded', 'engine hanging');
    cmp_ok($hung->{took}, '>=', $HARD_DEADLINE_S - 0.5, sprintf('engine hanging: the worker waited for the hard deadline (%.2f s)', $hung->{took}));
    cmp_ok($hung->{took}, '<=', $HARD_DEADLINE_S + 1.5, 'engine hanging: and not longer');
    my $free = timed_get($s, r_path("echo hello world # still hung $run"));
    ok($free->{status} == 503 || $free->{status} == 504, "engine hanging: the (only) worker answers the next request ($free->{status})")
        or diag $free->{content};
    ok(!in_nginx_cache($s, "echo hello world # hung $run"), "the 504 is not in nginx's cache");
    ok(!in_redis($s, "echo hello world # hung $run"), 'nor in Redis');
    ok(kill('CONT', $dd->pid), 'SIGCONT to our dockerd');
    $healed = wait_until(30, sub {
        $s->get(r_path("echo hello world # unhung $run"))->{status} == 200;
    });
    ok($healed, 'after SIGCONT execution resumes by itself');
    is_verdict($s->get(r_path("echo hello world # unhung $run")), 'after the engine woke up');
    # What the hung engine could not remove is removed now (stop() then checks none is left).
    ok(wait_until(30, sub { ($s->metrics->{'cmdarena_pool_claimed{engine="0"}'} // 1) == 0 }), 'nothing stays claimed');
    $s->stop;
}
my $dd_dir = $dd->dir;
$dd->destroy;
ok($ENV{CMDARENA_KEEP} || !-d $dd_dir, 'our dockerd is gone, and its directories');
{
    # Nothing of it may keep running (a shim or runc init of a container caught half-started).
    my @left;
    for my $f (glob '/proc/[0-9]*/cmdline') {
        open(my $fh, '<', $f) or next;
        push @left, $f if index(<$fh> // '', $dd_dir) >= 0;
    }
    is(scalar @left, 0, 'no process of our dockerd is left') or diag "@left";
}

done_testing;

