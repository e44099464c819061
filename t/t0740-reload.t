#!/usr/bin/perl
# SIGHUP to cmdarena-fcgi: it re-reads its config file and the challenges and rolls the pool
# keeper and the workers (new ones first, the old ones finish what they hold), with no failed
# request while clients keep sending. A changed challenge version and a changed setting are
# picked up; a broken catalogue is refused and the running one kept.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Load;
use Cmdarena::Stack;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $root = Cmdarena::Stack::root();
my $tmp = tempdir('cmdarena-reload-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{CMDARENA_KEEP});

# A copy of the catalogue we may edit (the files are in the image already: only the YAML changes).
system('cp', '-a', "$root/challenges", "$tmp/challenges") == 0 or die "cannot copy the challenges";
my $yaml_path = "$tmp/challenges/challenges.yaml";
my $yaml = do { open(my $fh, '<', $yaml_path) or die $!; local $/; <$fh> };
$yaml =~ /^- slug: hello_world\n  version: 1\n/m or die 'hello_world is not at version 1 in challenges.yaml';

# A config file of our own (the harness's -o settings still win; cache_salt is not one of them).
my $conf_path = "$tmp/cmdarena.conf";
sub write_conf {
    my ($text) = @_;
    open(my $fh, '>', $conf_path) or die "$conf_path: $!";
    print $fh $text;
    close $fh;
}
write_conf("cache_salt = one\n");

my $s = Cmdarena::Stack->new(workers => 3, challenges => "$tmp/challenges", config_file => $conf_path,
    conf => { pool_size => 3, timeout_ms => 5000, hard_deadline_ms => 8000, reap_margin_ms => 0 });
note 'state: ' . $s->dir;

sub generation {
    my @kids = sort { $a <=> $b } $s->children_of($s->fcgi_pid);
    return \@kids;
}

# The running pool keeper's pid: the last one that logged its start.
sub keeper_pid {
    my @pids = $s->log('fcgi') =~ /pool\[(\d+)\] pool: keeping /g;
    return $pids[-1];
}

# SIGHUP; wait until the retired processes are gone. Returns the new generation.
sub hup_and_wait {
    my ($label, $old, $keeper_stays) = @_;
    my $reloads = $s->metrics->{cmdarena_reloads_total};
    my $keeper = keeper_pid();
    kill 'HUP', $s->fcgi_pid;
    my $until = time + 30;
    my %old = map { $_ => 1 } @$old;
    delete $old{$keeper} if $keeper_stays;
    while (time < $until) {
        my $m = $s->metrics;
        my @now = @{ generation() };
        if ($m && $m->{cmdarena_reloads_total} > $reloads && !grep { $old{$_} } @now) {
            is(scalar @now, 4, "$label: a pool keeper and 3 workers");
            if ($keeper_stays) {
                is(keeper_pid(), $keeper, "$label: the same pool keeper (nothing it uses changed)");
            } else {
                isnt(keeper_pid(), $keeper, "$label: a new pool keeper");
            }
            return \@now;
        }
        sleep 0.1;
    }
    fail("$label: the old generation did not finish within 30 s");
    return generation();
}

# ---- load: clients sending all the time; every answer must be a verdict ----
# New commands (executions) and repeated ones (cache hits), at a pace a 2-core machine sustains:
# the point is reloading under load, not overload. The version asked is 2 once $tmp/ver2 exists.
sub start_clients {
    my ($n, $tag) = @_;
    return Cmdarena::Load->start(clients => $n, pause => 0.02, url => sub {
        my ($c, $i) = @_;
        $s->url(slug => 'hello_world', ver => (-e "$tmp/ver2" ? 2 : 1), cmd => $i % 2 ? "echo $tag $c $i" : 'echo hello world');
    });
}

sub check_load {
    my ($label, $load) = @_;
    $load->stop;
    my @all = $load->results;
    my %by;
    $by{ $_->[2] }++ for @all;
    ok(@all >= 3, "$label: the clients sent requests all along: " . scalar(@all) . ' ('
        . join(', ', map { "$_: $by{$_}" } sort keys %by) . ')');
    # 409 is a correct answer for the old version once the new one is loaded.
    my @bad = grep { !($_->[2] == 200 || ($_->[2] == 409 && $_->[4] eq 'stale_version')) } @all;
    is(scalar @bad, 0, "$label: no request failed") or diag join "\n", map { "@$_" } @bad[0 .. ($#bad > 20 ? 20 : $#bad)];
}

# ---- 1. SIGHUP under load, nothing changed: new workers, the same warm pool ----
my $gen0 = generation();
is(scalar @$gen0, 4, 'a pool keeper and 3 workers');
my $load = start_clients(2, 'a');
sleep 2;
my $gen1 = hup_and_wait('first reload', $gen0, 1);
sleep 1;
my $gen2 = hup_and_wait('second reload', $gen1, 1);
sleep 1.5;
check_load('two reloads', $load);
is($s->metrics->{cmdarena_reloads_total}, 2, 'cmdarena_reloads_total: 2');
is($s->metrics->{cmdarena_workers_alive}, 3, 'cmdarena_workers_alive: 3 (the retired ones are gone)');
like($s->log('fcgi'), qr/reloaded: \d+ challenges, 3 workers, the same pool keeper/, 'the master logs the reload');

# ---- 2. a changed container setting rolls the pool keeper, under load ----
write_conf("cache_salt = one\nmemory = 72m\n");
$load = start_clients(1, 'b');
sleep 1;
my $gen3 = hup_and_wait('reload with memory = 72m', $gen2, 0);
sleep 2;
check_load('a new pool keeper', $load);
my $mine = Cmdarena::Stack->containers($s->node);
# (one may be removed between the list and its inspection: only those still there count)
my @memory = map { my ($st, $c) = $s->docker('GET', "/containers/$_->{Id}/json"); $st == 200 ? $c->{HostConfig}{Memory} : () } @$mine;
ok(@memory && !grep({ $_ != 72 * 1024 * 1024 } @memory), 'the pooled containers now have 72 MiB: ' . join(' ', @memory));

# ---- 3. a request running across a pool keeper's replacement keeps its container ----
# Once the pooled containers are older than hard_deadline_ms + reap_margin_ms (9 s), the new
# pool keeper must still not take one claimed from its predecessor for an orphan.
sleep 10;
my $slow_pid = fork // die;
if ($slow_pid == 0) {
    my $res = HTTP::Tiny->new(timeout => 30)->get($s->url(slug => 'hello_world', ver => 1,
        cmd => 'sleep 3.5; echo hello world'));
    open(my $out, '>', "$tmp/slow.txt");
    print $out "$res->{status} $res->{content}";
    close $out;
    POSIX::_exit(0);
}
sleep 0.4;
write_conf("cache_salt = one\nmemory = 64m\n");
my $gen4 = hup_and_wait('reload during a slow command', $gen3, 0);
waitpid($slow_pid, 0);
my $slow = do { open(my $fh, '<', "$tmp/slow.txt") or die; local $/; <$fh> };
like($slow, qr/^200 .*"correct":true/, 'a command running across the reload gets its verdict') or diag $slow;

# ---- 4. a changed challenge version and a changed setting are picked up ----
my $before = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
is($before->{status}, 200, 'version 1 answers');
(my $v2 = $yaml) =~ s/^(- slug: hello_world\n  version: )1\n/${1}2\n/m;
open(my $fh, '>', $yaml_path) or die $!;
print $fh $v2;
close $fh;
write_conf("cache_salt = two\nmemory = 64m\n");
$load = start_clients(2, 'c');
sleep 1;
open(my $flag, '>', "$tmp/ver2") or die;
close $flag;
my $gen5 = hup_and_wait('reload with version 2', $gen4, 1);
sleep 1.5;
check_load('the version changed', $load);
my $stale = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world # v1');
is($stale->{status}, 409, 'version 1 is stale now');
is($stale->{json}{ver}, 2, '...and the reply says 2');
my $new = $s->r(slug => 'hello_world', ver => 2, cmd => 'echo hello world');
is($new->{status}, 200, 'version 2 answers');
ok($new->{json}{correct}, 'version 2 judges it correct');
my $page = $s->get('/s?slug=hello_world');
is($page->{json}{ver}, 2, '/s speaks of version 2');
# The salt changed too: the Redis key of the same command differs.
my @salted = grep { /^cmdarena:v:two:hello_world:2:/ } split /\n/, $s->redis('KEYS', 'cmdarena:v:*');
ok(@salted >= 1, 'verdicts are stored under the new cache_salt (read from the config file on reload)');

# ---- 5. a new cache_salt, in cmdarena.conf and nginx.conf, invalidates both caches ----
my $salted_cmd = 'echo hello world # salted';
my $first = $s->r(slug => 'hello_world', ver => 2, cmd => $salted_cmd);
is($first->{headers}{'x-cmdarena-layer'}, 'executed', 'a new command runs');
is($s->r(slug => 'hello_world', ver => 2, cmd => $salted_cmd)->{headers}{'x-cache-status'}, 'HIT', '...then is an nginx hit');
write_conf("cache_salt = three\nmemory = 64m\n");
$s->reload_nginx;    # renders nginx.conf again: its @CACHE_SALT@ is the config file's, three
hup_and_wait('reload with cache_salt = three', $gen5, 1);
my $after;
for (1 .. 50) {    # nginx's new workers take over in a moment
    $after = $s->r(slug => 'hello_world', ver => 2, cmd => $salted_cmd);
    last if ($after->{headers}{'x-cache-status'} // '') ne 'HIT';
    sleep 0.1;
}
is($after->{headers}{'x-cache-status'}, 'MISS', 'after the salt changed: an nginx MISS');
is($after->{headers}{'x-cmdarena-layer'}, 'executed', '...and not in Redis either: it ran again');

# ---- 6. a broken catalogue is refused; the service goes on with the old one ----
open($fh, '>', $yaml_path) or die $!;
print $fh "- slug: [this is not\n";
close $fh;
my $gen_before = generation();
my $log_before = length $s->log('fcgi');
kill 'HUP', $s->fcgi_pid;
my $refused;
for (1 .. 100) {
    $refused = substr($s->log('fcgi'), $log_before) =~ /reload failed: keeping the running config/;
    last if $refused;
    sleep 0.1;
}
ok($refused, 'a broken challenges.yaml: "reload failed: keeping the running config and challenges"');
is_deeply(generation(), $gen_before, 'the same processes go on');
my $still = $s->r(slug => 'hello_world', ver => 2, cmd => 'echo hello world # still');
is($still->{status}, 200, 'and answer with version 2');

$s->stop;
done_testing;
