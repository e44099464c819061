#!/usr/bin/perl
# Fairness (issue 12): one address floods slow commands in many spellings plus huge outputs; a
# second address (127.0.0.2) asking for new commands meanwhile stays fast. Each client has at most
# client_executions_max executions and client_waits_max waits in flight (429 with Retry-After past
# that), nginx folds the order of the parameters into one cache key, and limit_conn bounds what one
# address queues in front of the pool.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

my $run = "$$-" . int(time);
my $s = Cmdarena::Stack->new(workers => 4, limit_exempt => '',
    conf => { pool_size => 4, client_executions_max => 2, client_waits_max => 8 });
my $json = JSON::PP->new->utf8->canonical;

sub get_from {
    my ($addr, $qs) = @_;
    my $t0 = time;
    my $res = HTTP::Tiny->new(timeout => 30, keep_alive => 0, local_address => $addr)->get($s->base . "/r?$qs");
    $res->{took} = time - $t0;
    $res->{json} = eval { $json->decode($res->{content}) };
    return $res;
}

sub qs { 'slug=hello_world&ver=1&cmd=' . Cmdarena::Stack::uri_escape($_[0]) }

# ---- nginx folds the order of the parameters ----
my $cmd = "echo hello world # order $run";
my $first = get_from('127.0.0.3', qs($cmd));
is($first->{status}, 200, 'a command');
my $reordered = get_from('127.0.0.3', 'cmd=' . Cmdarena::Stack::uri_escape($cmd) . '&ver=1&slug=hello_world');
is($reordered->{headers}{'x-cache-status'}, 'HIT', "the same command, parameters in another order: nginx's cache HIT");
my $extra = get_from('127.0.0.3', qs($cmd) . '&x=1');
is($extra->{status}, 400, 'an extra parameter still reaches the worker: 400');


# ---- the bystander's idle latency ----
my @idle = map { get_from('127.0.0.2', qs("echo hello world # idle $run $_"))->{took} } 1 .. 5;
my $p50 = (sort { $a <=> $b } @idle)[2];
diag sprintf('bystander idle p50: %.0f ms', $p50 * 1000);

# ---- the flood: 24 spellings of one slow command and 8 control-byte floods, all at once ----
my $slow = "sleep 4; echo x # $run";
my @spellings;
for my $i (0 .. 23) {
    my $enc = Cmdarena::Stack::uri_escape($slow);
    # Upper or lower case hex, some letters percent-encoded, three orders of the parameters.
    $enc =~ s/%3B/%3b/g if $i & 1;
    $enc =~ s/e/%65/ if $i & 2;
    $enc =~ s/x/%78/ if $i & 4;
    my @p = ('slug=hello_world', 'ver=1', "cmd=$enc");
    my $o = int($i / 8);
    @p = $o == 0 ? @p : $o == 1 ? @p[2, 0, 1] : @p[1, 2, 0];
    push @spellings, join('&', @p);
}
# (slow too, so that they overlap: at most client_executions_max of them run at once)
# (first: nginx's limit_conn (16 per address) refuses whatever comes past the first 16)
unshift @spellings, map { qs("sleep 3; head -c 65536 /dev/zero | tr '\\0' '\\1' # $run $_") } 1 .. 8;
my $dir = $s->dir;
my @kids;
my $flood_start = time;
for my $i (0 .. $#spellings) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $res = get_from('127.0.0.1', $spellings[$i]);
        open(my $fh, '>', "$dir/flood-$i") or POSIX::_exit(1);
        print $fh "$res->{status} " . ($res->{headers}{'retry-after'} // '-') . "\n";
        close $fh;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
# The bystander asks for a new command every 0.3 s while the flood lasts.
my @by;
sleep 0.2;
while (time - $flood_start < 5) {
    push @by, get_from('127.0.0.2', qs("echo hello world # bystander $run " . scalar @by));
    sleep 0.3;
}
waitpid($_, 0) for @kids;
my (%flood, $retry_ok);
for my $i (0 .. $#spellings) {
    open(my $fh, '<', "$dir/flood-$i") or next;
    my ($st, $ra) = split ' ', <$fh> // '';
    $flood{$st}++;
    $retry_ok++ if $st == 429 && $ra =~ /^\d+$/;
}
diag 'flood answers: ' . join(', ', map { "$_: $flood{$_}" } sort keys %flood);
ok(($flood{429} // 0) > 0, 'the flooding address got 429s');
is($retry_ok, $flood{429}, 'each with Retry-After');
my @bad = grep { $_->{status} != 200 } @by;
is(scalar @bad, 0, 'the bystander: every answer a 200 (' . scalar(@by) . ' commands)')
    or diag join "\n", map { "$_->{status} $_->{content}" } @bad;
my ($slowest) = sort { $b <=> $a } map { $_->{took} } @by;
my $bound = $p50 * 3 > 0.5 ? $p50 * 3 : 0.5;
# The issue's target is max(3 x idle p50, 500 ms) on a quiet machine; tests share theirs: 3 times that.
cmp_ok($slowest, '<=', 3 * $bound, sprintf('the bystander stays fast: slowest %.0f ms (target %.0f ms, idle p50 %.0f ms)',
    $slowest * 1000, $bound * 1000, $p50 * 1000));
ok(@by >= 8, 'the bystander asked throughout the flood (' . scalar(@by) . ' commands)');

# ---- the client's share, on its own ----
# Which 16 of the flood's 32 pass nginx's limit_conn depends on the order they arrive in: when
# they are all spellings of the one slow command, nginx's cache lock holds them and no worker sees
# more than one. So the share is shown apart: 5 different slow commands at once from one more
# address, under limit_conn, overlapping (each sleeps 2 s): at most 2 run, the rest get the
# worker's 429 (its JSON code and Retry-After), and the metric counts them.
my $refused_before = refused();
my @share;
for my $i (1 .. 5) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $res = get_from('127.0.0.4', qs("sleep 2; echo share $i # $run"));
        open(my $fh, '>', "$dir/share-$i") or POSIX::_exit(1);
        print $fh join(' ', $res->{status}, $res->{json} ? $res->{json}{code} // '-' : '-',
            $res->{headers}{'retry-after'} // '-'), "\n";
        close $fh;
        POSIX::_exit(0);
    }
    push @share, $pid;
}
waitpid($_, 0) for @share;
my %share;
for my $i (1 .. 5) {
    open(my $fh, '<', "$dir/share-$i") or next;
    my ($st, $code, $ra) = split ' ', <$fh> // '';
    $share{$st}++;
    $share{refused_ok}++ if $st == 429 && $code eq 'rate_limited' && $ra =~ /^\d+$/;
}
diag 'share answers: ' . join(', ', map { "$_: $share{$_}" } sort keys %share);
cmp_ok($share{200} // 0, '>=', 2, 'two of the five ran (client_executions_max = 2)');
cmp_ok($share{refused_ok} // 0, '>=', 1, "the rest: the worker's 429, rate_limited, with Retry-After");
cmp_ok(refused() - $refused_before, '>=', $share{refused_ok} // 0, "the metric counts the refusals over the client's share");

sub refused {
    my $m = $s->metrics;
    return ($m->{'cmdarena_client_inflight_refused_total{kind="execution"}'} // 0)
        + ($m->{'cmdarena_client_inflight_refused_total{kind="wait"}'} // 0);
}

$s->stop;
done_testing;
