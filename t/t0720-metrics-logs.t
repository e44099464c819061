#!/usr/bin/perl
# GET /metrics: Prometheus text, loopback only, numbers shared by every worker (exact counts
# whichever worker answers). Logs: one worker line per request carrying nginx's $request_id, so
# the access log and the pool's log join on it; the access log has the cache status and timings;
# log_syslog = yes sends the lines to syslog instead of stderr.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use HTTP::Tiny;
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use Socket qw(SOCK_DGRAM);
use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(sleep time);

my $workers = 3;
my $s = Cmdarena::Stack->new(workers => $workers);

sub metrics_text {
    my $res = $s->get('/metrics');
    is($res->{status}, 200, '/metrics: 200') or diag $res->{content};
    return $res;
}

# Parse and check the exposition format; returns { "name{labels}" => value }.
sub parse_exposition {
    my ($text) = @_;
    my (%value, %type, %help, @bad);
    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/) { $help{$1} = 1; next }
        if ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/) {
            push @bad, "TYPE after samples of $1: $line" if grep { /^\Q$1\E(?:_bucket|_sum|_count)?(?:\{|$)/ } keys %value;
            $type{$1} = $2;
            next;
        }
        if ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,|(?=\})))*\})? (-?[0-9.e+]+|\+Inf|NaN)$/) {
            my ($name, $labels, $v) = ($1, $2 // '', $3);
            my $family = $name;
            $family =~ s/_(bucket|sum|count)$// unless $type{$name};
            push @bad, "no TYPE before $line" unless $type{$family} && $help{$family};
            push @bad, "repeated sample $name$labels" if exists $value{"$name$labels"};
            $value{"$name$labels"} = $v;
            next;
        }
        push @bad, "not exposition format: $line";
    }
    is_deeply(\@bad, [], 'every line is a HELP, a TYPE or a well-formed sample after them') or diag join "\n", @bad;
    return (\%value, \%type);
}

# ---- the format ----
my $res = metrics_text();
like($res->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4}, 'Prometheus text content type');
like($res->{headers}{'cache-control'} // '', qr/no-store/, 'never cached');
my ($m, $type) = parse_exposition($res->{content});
for my $name (qw(cmdarena_requests_total cmdarena_verdicts_total cmdarena_executions_total cmdarena_execution_seconds
    cmdarena_pool_idle cmdarena_pool_refills_total cmdarena_redis_errors_total cmdarena_engine_errors_total
    cmdarena_rate_limited_total cmdarena_workers_alive cmdarena_workers_respawned_total cmdarena_engine_up
    cmdarena_redis_up cmdarena_pool_takes_total)) {
    ok($type->{$name}, "$name is exposed (a $name " . ($type->{$name} // 'missing') . ')');
}
is($type->{cmdarena_execution_seconds}, 'histogram', 'execution time is a histogram');
is($m->{cmdarena_workers_alive}, $workers, "workers alive: $workers");
is($m->{'cmdarena_engine_up{engine="0"}'}, 1, 'the engine is up');
is($m->{cmdarena_redis_up}, 1, 'Redis is up');
ok($m->{'cmdarena_pool_refills_total{engine="0"}'} >= 1, 'the pool was filled: refills ' . $m->{'cmdarena_pool_refills_total{engine="0"}'});

my $from2 = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.2')->get($s->base . '/metrics');
is($from2->{status}, 403, '/metrics from 127.0.0.2: 403 (only 127.0.0.1 and ::1 may read it)');
like($from2->{content}, qr/"code":"forbidden"/, '...as JSON');

# ---- counts: exact, whichever worker answers ----
my $m0 = $s->metrics;
my @requests = (
    ['/r?slug=hello_world&ver=1&cmd=echo%20hello%20world', 200, 'correct'],
    ['/r?slug=hello_world&ver=1&cmd=echo%20hello', 200, 'incorrect'],
    ['/r?slug=hello_world&ver=1&cmd=printf%20%22hello%20world%5Cn%22', 200, 'correct'],
    ['/r?slug=hello_world&ver=1&cmd=echo+hello+world', 200, 'correct'],    # Redis
    ['/r?slug=hello_world&ver=9&cmd=ls', 409, 'stale_version'],
    ['/r?slug=no_such&ver=1&cmd=ls', 404, 'not_found'],
    ['/r?slug=hello_world&ver=1', 400, 'bad_request'],
    ['/r?slug=a/b&ver=1&cmd=ls', 400, 'bad_request'],
    ['/s?slug=hello_world', 200, 'solutions'],
);
for my $r (@requests) {
    my $got = $s->get($r->[0]);
    is($got->{status}, $r->[1], "$r->[0]: $r->[1]") or diag $got->{content};
}
my $post = $s->get('/r?slug=hello_world&ver=1&cmd=ls', method => 'POST');
is($post->{status}, 405, 'POST: 405');
my $m1 = $s->metrics;
sub delta { ($m1->{ $_[0] } // 0) - ($m0->{ $_[0] } // 0) }
for my $want (
    ['cmdarena_requests_total{endpoint="r",outcome="correct"}', 3],
    ['cmdarena_requests_total{endpoint="r",outcome="incorrect"}', 1],
    ['cmdarena_requests_total{endpoint="r",outcome="stale_version"}', 1],
    ['cmdarena_requests_total{endpoint="r",outcome="not_found"}', 1],
    ['cmdarena_requests_total{endpoint="r",outcome="bad_request"}', 2],
    ['cmdarena_requests_total{endpoint="r",outcome="method_not_allowed"}', 1],
    ['cmdarena_requests_total{endpoint="s",outcome="solutions"}', 1],
    ['cmdarena_requests_total{endpoint="metrics",outcome="metrics"}', 1],    # the read in between
    ['cmdarena_verdicts_total{layer="executed"}', 3],
    ['cmdarena_verdicts_total{layer="redis"}', 1],
    ['cmdarena_executions_total', 3],
    ['cmdarena_execution_seconds_count', 3],
    ['cmdarena_pool_takes_total{engine="0"}', 3],
) {
    is(delta($want->[0]), $want->[1], "$want->[0] +$want->[1]");
}
ok(delta('cmdarena_execution_seconds_sum') > 0, 'execution time sum grew: ' . delta('cmdarena_execution_seconds_sum'));
my ($mh) = parse_exposition(metrics_text()->{content});
my @buckets = sort { $a->[0] <=> $b->[0] }
    map { /le="([^"]+)"/ ? [$1 eq '+Inf' ? 9**9**9 : $1, $mh->{$_}] : () } grep { /^cmdarena_execution_seconds_bucket/ } keys %$mh;
ok(@buckets >= 5, 'the histogram has buckets: ' . scalar @buckets);
my @counts = map { $_->[1] } @buckets;
is_deeply(\@counts, [sort { $a <=> $b } @counts], 'bucket counts are cumulative (never decrease)');
is($buckets[-1][1], $mh->{cmdarena_execution_seconds_count}, 'the +Inf bucket equals the count');
my %seen;
$seen{ $s->metrics->{cmdarena_executions_total} }++ for 1 .. 12;
is_deeply([keys %seen], [$m1->{cmdarena_executions_total}], '12 reads (several workers): one value of executions_total');

# ---- workers dying and Redis going away show ----
my @kids = $s->children_of($s->fcgi_pid);
my $respawned = $m1->{cmdarena_workers_respawned_total};
my %before_kill = map { $_ => 1 } @kids;
# The pool keeper is a child too: kill one the log calls a worker.
my ($victim) = $s->log('fcgi') =~ /info worker\d+\[(\d+)\]/;
ok($victim && $before_kill{$victim}, "a worker's pid from its log line: " . ($victim // 'none'));
kill 'KILL', $victim if $victim;
my $m2;
for (1 .. 50) {
    $m2 = $s->metrics;
    last if $m2->{cmdarena_workers_respawned_total} > $respawned && $m2->{cmdarena_workers_alive} == $workers;
    sleep 0.1;
}
is($m2->{cmdarena_workers_respawned_total}, $respawned + 1, 'a killed worker: respawned +1');
is($m2->{cmdarena_workers_alive}, $workers, "and $workers alive again");

$s->stop_redis;
my $no_redis = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world # no redis');
is($no_redis->{status}, 200, 'Redis down: still answered');
my $m3 = $s->metrics;
ok($m3->{cmdarena_redis_errors_total} > $m2->{cmdarena_redis_errors_total}, 'Redis errors counted: '
    . $m3->{cmdarena_redis_errors_total});
is($m3->{cmdarena_redis_up}, 0, 'redis_up 0 during the outage');
$s->start_redis;
my $up;
for (1 .. 40) {
    $s->r(slug => 'hello_world', ver => 1, cmd => "echo back $_");
    $up = $s->metrics->{cmdarena_redis_up};
    last if $up;
    sleep 0.1;
}
is($up, 1, 'redis_up 1 once it is back');

# ---- logs: one worker line per request, joined to nginx's by the request id ----
my $t_req = time;
my $log_hash = substr(sha256_hex('echo log line'), 0, 16);
my $miss = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo log line');
my $hit = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo log line');
is($hit->{headers}{'x-cache-status'}, 'HIT', 'the second is an nginx hit');
my $bad = $s->get('/r?slug=hello_world&ver=x&cmd=ls');
my @access;
for (1 .. 40) {    # nginx flushes its buffered access log every second
    @access = grep { m{"GET /r HTTP/1\.1" .*(?:\bcmd=\Q$log_hash\E\b|\bver=x\b)} } split /\n/, $s->log('nginx-access');
    last if @access >= 3;
    sleep 0.1;
}
is(scalar @access, 3, 'three access log lines') or diag join "\n", @access;
# By default the access log keeps a hash of each command (the worker's X-Cmdarena-Cmd), never its text.
is($miss->{headers}{'x-cmdarena-cmd'}, $log_hash, 'X-Cmdarena-Cmd is the first 16 hex digits of SHA-256 of the command');
is($hit->{headers}{'x-cmdarena-cmd'}, $log_hash, 'and a cache hit carries it too');
unlike($s->log('nginx-access'), qr/log(?:%20|\+| )line|echo/, 'no command text in the access log');
my ($bad_line) = grep { /\bver=x\b/ } @access;
like($bad_line // '', qr/\bcmd=\Q@{[ substr(sha256_hex('ls'), 0, 16) ]}\E /, 'a refused request logs its command\'s hash too');
my %worker_line;
for (split /\n/, $s->log('fcgi')) {
    $worker_line{$1} .= "$_\n" if /\breq=([0-9a-f]{32}) /;
}
for my $line (@access) {
    my ($status) = $line =~ /" (\d{3}) /;
    my ($id) = $line =~ /\bid=([0-9a-f]{32})\b/;
    my ($cache) = $line =~ /\bcache=(\S+)/;
    ok($id, "access line has a request id: $line") or next;
    like($line, qr/\brt=\d+\.\d{3}\b/, 'access line has $request_time');
    like($line, qr/\burt=(?:\d+\.\d{3}|-)(?:\s|$)/, 'access line has $upstream_response_time');
    if (($cache // '') eq 'HIT') {
        ok(!$worker_line{$id}, 'an nginx hit never reached a worker: no line with its id');
        like($line, qr/\burt=- /, 'and no upstream time');
        next;
    }
    my $w = $worker_line{$id} // '';
    is(scalar(() = $w =~ /\n/g), 1, "exactly one worker line for id $id") or diag $w;
    like($w, qr/\bstatus=$status\b/, "the worker logged the same status ($status)");
    like($w, qr/\bep=r slug=\S+ ver=\d+ layer=\S+ status=\d+ outcome=\S+ code=\S+ engine=-?\d+ dur_ms=\d+\.\d\b/,
        'with slug, ver, cache layer, outcome, error code, engine and duration');
    if ($status == 200) {
        like($w, qr/slug=hello_world ver=1 layer=executed status=200 outcome=incorrect code=- engine=0 /,
            'the executed one: layer, verdict and engine');
        like($line, qr/\bcache=MISS\b/, 'and nginx logged a MISS');
    } else {
        like($w, qr/status=400 outcome=bad_request code=invalid_version /, 'the bad one: its error code');
    }
}

$s->stop;

# ---- log_syslog = yes: the same lines go to syslog (here a socket of ours at /dev/log) ----
{
    my $tmp = tempdir('cmdarena-syslog-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $sock_path = "$tmp/syslog.sock";
    my $syslog = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sock_path)
        or die "cannot make a syslog socket at $sock_path: $!";
    # A reader like a syslog daemon's: a datagram socket's queue is short and a full one blocks
    # the sender, so read all the time, into a file.
    my $reader = fork // die "fork: $!";
    if ($reader == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        open(my $out, '>>', "$tmp/syslog.txt") or POSIX::_exit(1);
        $out->autoflush(1);
        my $buf;
        print $out "$buf\n" while defined $syslog->recv($buf, 8192);
        POSIX::_exit(0);
    }
    close $syslog;
    # A private mount namespace where /dev/log is that socket: nothing changes for the machine.
    my $wrap = <<'SH';
set -e
d=$1; shift
mkdir "$d/dev"
mount -t tmpfs -o size=64k,mode=755 cmdarena-dev "$d/dev"
for n in null zero full random urandom; do touch "$d/dev/$n"; mount --bind "/dev/$n" "$d/dev/$n"; done
ln -s "$d/syslog.sock" "$d/dev/log"
mount --rbind "$d/dev" /dev
exec "$@"
SH
    my $syslog_text = sub { open(my $fh, '<', "$tmp/syslog.txt") or return ''; local $/; <$fh> // '' };
    my $ss = eval {
        Cmdarena::Stack->new(workers => 1, conf => { log_syslog => 'yes' },
            fcgi_wrap => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', $wrap, 'sh', $tmp]);
    };
    if (!$ss) {
        fail("a stack with log_syslog = yes starts: $@");
        diag $syslog_text->();
    } else {
        my $r = $ss->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
        is($r->{status}, 200, 'log_syslog: a request answered') or diag "$r->{status} $r->{content}";
        my $until = time + 5;
        sleep 0.05 while time < $until && $syslog_text->() !~ /worker0: req=[0-9a-f]{32} .*status=200/;
        my $got = $syslog_text->();
        like($got, qr/^<30>.*cmdarena-fcgi\[\d+\]: master: listening on /m,
            'syslog got the master\'s start (daemon.info, ident, pid)');
        like($got, qr/^<30>.*cmdarena-fcgi\[\d+\]: worker0: req=[0-9a-f]{32} client=127\.0\.0\.1 ep=r slug=hello_world .*status=200/m,
            'syslog got the request line');
        unlike($ss->log('fcgi'), qr/req=[0-9a-f]{32}/, 'and stderr did not');
        $ss->stop;
    }
    kill 'TERM', $reader;
    waitpid($reader, 0);
}

done_testing;
