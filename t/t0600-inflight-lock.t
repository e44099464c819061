#!/usr/bin/perl
# The in-flight lock in Redis (one execution per distinct command), behind nginx's cache lock:
# identical requests that nginx cannot tell apart (the same command spelled differently) run once;
# and a worker killed while running a command does not make the identical requests behind it wait
# for its lock to expire: they take over and answer within the hard deadline.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

my $deadline_s = 10;    # hard_deadline_ms of this stack
my $s = Cmdarena::Stack->new(workers => 2, conf => { timeout_ms => 5000, hard_deadline_ms => $deadline_s * 1000 });
# A herd: the same command in 24 spellings (nginx's cache key is the raw query, so each is a
# separate miss for nginx; the worker decodes them to one command), sent at once.
{
    my $herd_cmd = "sleep 0.5; echo herd-$$-" . int(time);
    my @chars = split //, $herd_cmd;
    my @urls = map {
        my $mask = $_;
        my $i = 0;
        '/r?slug=hello_world&ver=1&cmd=' . join '', map {
            my $bit = $mask & (1 << $i++);
            $_ eq ' ' ? ($bit ? '%20' : '+') : /[a-z0-9]/ && !$bit ? $_ : sprintf('%%%02X', ord)
        } @chars;
    } 0 .. 23;
    my $before = $s->executions;
    my @kids;
    for my $url (@urls) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $r;
            my $res = $s->get($url);
            print $w "$res->{status} " . ($res->{json}{output} // '');
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    my %answers;
    for (@kids) {
        my ($pid, $r) = @$_;
        local $/;
        $answers{ <$r> // '' }++;
        waitpid($pid, 0);
    }
    (my $want = $herd_cmd) =~ s/.*echo //;
    is_deeply(\%answers, { "200 $want\n" => scalar @urls }, 'the 24 spellings all answer 200 with the output');
    is($s->executions - $before, 1, 'and the command ran once');
}

my $tag = "lock-$$-" . int(time);
my $cmd = "sleep 3; echo $tag";

# A: the first request takes the lock and runs the command (from a child: it will not be answered).
my $child = fork // die "fork: $!";
if ($child == 0) {
    $s->r(slug => 'hello_world', ver => 1, cmd => $cmd);
    POSIX::_exit(0);    # not exit: the stack belongs to the parent
}

# The lock's token names its holder: "<pid>-<us>@<node>".
my ($lock, $holder);
for (1 .. 100) {
    ($lock) = grep { /:lock$/ } split /\n/, $s->redis('--scan', '--pattern', 'cmdarena:v:*');
    $holder = $s->redis('GET', $lock) if $lock;
    last if $holder;
    sleep 0.05;
}
ok($holder, 'the first request holds an in-flight lock') or diag $s->log('fcgi');
my ($pid, $node) = ($holder // '') =~ /^(\d+)-\d+\@(.+)$/;
is($node, $s->node, "the lock names this node's worker: " . ($holder // 'none'));
ok($pid && grep({ $_ == $pid } $s->children_of($s->fcgi_pid)), "the holder ($pid) is a worker of this pool");

# Kill the holder mid-run, then ask for the same command (another spelling: nginx's cache lock
# does not apply; Redis's key is the same).
sleep 0.3;
kill 'KILL', $pid if $pid;
my $t0 = time;
(my $plus = $cmd) =~ s/ /+/g;
$plus =~ s/;/%3B/g;
my $res = $s->get("/r?slug=hello_world&ver=1&cmd=$plus");
my $took = time - $t0;
is($res->{status}, 200, 'the identical request is answered') or diag $res->{content};
is($res->{json}{output}, "$tag\n", 'with the output of the command');
is($res->{headers}{'x-cmdarena-layer'}, 'executed', 'by running it again');
cmp_ok($took, '<', $deadline_s, sprintf('within the hard deadline of %d s (took %.1f s): the dead lock did not hold it up',
    $deadline_s, $took));
like($s->log('fcgi'), qr/holding this command's lock .* died: taking over/, 'the takeover is logged');
waitpid($child, 0);

$s->stop;
done_testing;
