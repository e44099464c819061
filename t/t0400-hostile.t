#!/usr/bin/perl
# Hostile input (issue 4): commands that attack the sandbox, output that attacks the page, and
# requests that attack the parser. Each case says what it proves; every one must end in a clear
# verdict or a clear JSON error within the hard deadline, and nothing may break, leak or be cached
# that should not be. At the end hello_world still answers and stop() finds no container left.
#
# The limits checked are the issue's defaults (conf/cmdarena.conf): the stack runs without
# overriding any of them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use File::Find;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

# The issue's defaults.
my %LIMIT = (
    hard_deadline_s => 10,
    timeout_s       => 5,
    cmd_max         => 1024,
    output_cap      => 65536,
    memory          => 64 * 1024 * 1024,
    pids            => 64,
    nano_cpus       => 500_000_000,
    tmpfs           => 16 * 1024 * 1024,
    nofile          => 256,
    fsize           => 16 * 1024 * 1024,
    uid             => 1000,
);
# Every answer must come within the hard deadline; the slack covers nginx and the HTTP client.
my $ANSWER_WITHIN = $LIMIT{hard_deadline_s} + 1.5;

my $s = Cmdarena::Stack->new(workers => 3, conf => { pool_size => 3 });
my @VERDICT_KEYS = sort qw(slug ver correct output exit_code message timed_out truncated);

# ---- helpers ------------------------------------------------------------------------------------

sub nginx_cache_files {
    my $n = 0;
    find(sub { $n++ if -f $_ }, $s->dir . '/nginx/cache');
    return $n;
}

# Run cmd on hello_world; the reply must be a verdict within the deadline. $check gets the JSON.
sub verdict {
    my ($label, $cmd, $check, %opt) = @_;
    my $slug = $opt{slug} // 'hello_world';
    my $t0 = time;
    my $res = $s->r(slug => $slug, ver => $opt{ver} // 1, cmd => $cmd);
    my $took = time - $t0;
    my $v = $res->{json};
    subtest $label => sub {
        is($res->{status}, 200, 'status 200 (a verdict, not an error)') or diag $res->{content};
        cmp_ok($took, '<=', $ANSWER_WITHIN, sprintf('answered within the deadline (%.2f s)', $took));
        like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
        is(ref $v, 'HASH', 'the body parses') or return;
        is_deeply([sort keys %$v], \@VERDICT_KEYS, 'exactly the verdict members');
        is($v->{correct}, JSON::PP::false, 'judged incorrect') unless $opt{correct};
        $check->($v, $res) if $check;
    };
    return $v;
}

# A request that must be refused: the status, a JSON error, and nothing ran or was cached.
sub refused {
    my ($label, $path, $status, $code, %opt) = @_;
    my $runs = $s->executions;
    my $keys = $s->redis('DBSIZE');
    my $files = nginx_cache_files();
    subtest $label => sub {
        for my $try (1, 2) {
            my $t0 = time;
            my $res = $s->get($path, method => $opt{method} // 'GET', http => $opt{http});
            my $took = time - $t0;
            is($res->{status}, $status, "status $status (try $try)") or diag $res->{content};
            cmp_ok($took, '<=', $ANSWER_WITHIN, sprintf('answered within the deadline (%.2f s)', $took));
            isnt($res->{headers}{'x-cache-status'} // '', 'HIT', "not served from nginx's cache (try $try)");
            if (($opt{method} // '') eq 'HEAD') {
                is($res->{content} // '', '', 'HEAD: no body');
            } else {
                like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
                is(ref $res->{json}, 'HASH', 'the body parses') or diag $res->{content};
                is($res->{json}{code}, $code, "code $code") if defined $code;
                like($res->{json}{error} // '', qr/\w.*\w/, 'a sentence says why');
                like($res->{headers}{'cache-control'} // '', qr/no-store/, 'Cache-Control: no-store');
            }
            $opt{check}->($res) if $opt{check};
        }
        is($s->executions, $runs, 'nothing ran');
        is($s->redis('DBSIZE'), $keys, 'nothing was stored in Redis');
        is(nginx_cache_files(), $files, "nothing was stored in nginx's cache");
    };
}

# The processes of every container of this stack: { id => [command lines] } (gone ones skipped).
sub stack_processes {
    my %ps;
    for my $c (@{ $s->containers($s->node) }) {
        next unless $c->{State} eq 'running';
        my ($status, $top) = $s->docker('GET', "/containers/$c->{Id}/top?ps_args=-eo%20pid,args");
        next unless $status == 200 && ref $top eq 'HASH';
        $ps{ $c->{Id} } = [ map { $_->[-1] } @{ $top->{Processes} // [] } ];
    }
    return \%ps;
}

# Command lines of every process on the host matching $re (a process that left its container
# behind would still show here).
sub host_processes {
    my ($re) = @_;
    my @found;
    for my $f (glob '/proc/[0-9]*/cmdline') {
        open(my $fh, '<', $f) or next;
        my $cmdline = join ' ', split /\0/, <$fh> // '';
        push @found, "$f: $cmdline" if $cmdline =~ $re;
    }
    return @found;
}

# True when, within a few seconds, no container of this stack (and no process on the host) runs
# a process matching $re.
sub no_process_left {
    my ($re) = @_;
    my ($ps, @host);
    for (1 .. 50) {
        $ps = stack_processes();
        @host = host_processes($re);
        return 1 unless @host || grep { grep { /$re/ } @$_ } values %$ps;
        sleep 0.1;
    }
    diag explain [ $ps, \@host ];
    return 0;
}

sub hello_still_works {
    my ($label, $cmd) = @_;
    my $res = $s->r(slug => 'hello_world', ver => 1, cmd => $cmd);
    is($res->{status}, 200, "$label: hello_world still answers") or diag $res->{content};
    is($res->{json}{correct}, JSON::PP::true, "$label: and judges '$cmd' correct") or diag explain $res->{json};
}

sub output_is { my ($v, $want, $label) = @_; is($v->{output}, $want, $label) }

# ---- the container every command runs in: docker inspect of a pooled one -------------------------

subtest 'docker inspect of a running pooled container shows every limit' => sub {
    my @running = grep { $_->{State} eq 'running' } @{ $s->containers($s->node) };
    ok(@running >= 1, 'the pool has started containers') or return;
    my %variants;
    for my $c (@running) {
        my $variant = $c->{Labels}{'cmdarena.variant'} // '?';
        next if $variants{$variant}++;
        my ($status, $i) = $s->docker('GET', "/containers/$c->{Id}/json");
        is($status, 200, "inspect $variant container") or next;
        my ($hc, $cf) = ($i->{HostConfig}, $i->{Config});
        is($i->{State}{Running}, JSON::PP::true, "$variant: running (started ahead, blocked on stdin)");
        is($hc->{NetworkMode}, 'none', "$variant: NetworkMode none");
        is($cf->{NetworkDisabled}, JSON::PP::true, "$variant: NetworkDisabled");
        is($hc->{ReadonlyRootfs}, JSON::PP::true, "$variant: read-only root file system");
        for my $mnt ('/var/challenges', '/tmp') {
            like($hc->{Tmpfs}{$mnt} // '', qr/(?:^|,)size=$LIMIT{tmpfs}(?:,|$)/, "$variant: $mnt is a tmpfs of $LIMIT{tmpfs} bytes");
            like($hc->{Tmpfs}{$mnt} // '', qr/(?:^|,)nosuid(?:,|$)/, "$variant: $mnt is nosuid");
        }
        like($hc->{Tmpfs}{'/var/challenges'} // '', qr/(?:^|,)uid=$LIMIT{uid}(?:,|$)/,
            "$variant: the challenge dir belongs to uid $LIMIT{uid}");
        is($hc->{Memory}, $LIMIT{memory}, "$variant: Memory 64 MiB");
        is($hc->{MemorySwap}, $LIMIT{memory}, "$variant: MemorySwap = Memory (no swap)");
        is($hc->{PidsLimit}, $LIMIT{pids}, "$variant: PidsLimit $LIMIT{pids}");
        is($hc->{NanoCpus}, $LIMIT{nano_cpus}, "$variant: half a core (NanoCpus)");
        my %ul = map { $_->{Name} => $_ } @{ $hc->{Ulimits} // [] };
        for ([nofile => $LIMIT{nofile}], [fsize => $LIMIT{fsize}], [core => 0]) {
            my ($name, $want) = @$_;
            is($ul{$name}{Soft}, $want, "$variant: ulimit $name soft $want");
            is($ul{$name}{Hard}, $want, "$variant: ulimit $name hard $want");
        }
        is_deeply($hc->{CapDrop}, ['ALL'], "$variant: CapDrop ALL");
        # Only the runner (PID 1) holds these; it drops every program it starts (runner/privs.c).
        is_deeply([sort map { s/^CAP_//r } @{ $hc->{CapAdd} // [] }],
            [qw(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER KILL SETGID SETPCAP SETUID)],
            "$variant: only the runner's capabilities added");
        ok((grep { /^no-new-privileges(?::true)?$/ } @{ $hc->{SecurityOpt} // [] }), "$variant: no-new-privileges");
        is($hc->{Privileged}, JSON::PP::false, "$variant: not privileged");
        is($cf->{User}, "0:0", "$variant: the runner starts as root, the command runs as uid $LIMIT{uid} (below)");
        like($hc->{Tmpfs}{'/run/cmdarena'} // '', qr/(?:^|,)noexec(?:,|$)/, "$variant: the judge's area is a noexec tmpfs");
        # The runner is the init (PID 1, reaps zombies): Docker's own init is not wanted.
        ok(!$hc->{Init}, "$variant: no docker-init: the runner is PID 1");
        like(join(' ', @{ $cf->{Entrypoint} // [] }, $i->{Path} // ''), qr{cmdarena-runner}, "$variant: the entrypoint is the runner");
        is($cf->{Labels}{cmdarena}, '1', "$variant: labelled cmdarena");
        is($cf->{Labels}{'cmdarena.node'}, $s->node, "$variant: labelled with its node");
        is($hc->{LogConfig}{Type}, 'none', "$variant: nothing logged to the engine's disk");
        is_deeply($hc->{Binds} // [], [], "$variant: no bind mount");
        ok(!grep({ ($_->{Type} // '') eq 'bind' } @{ $i->{Mounts} // [] }), "$variant: no host path mounted");
    }
    ok($variants{cmd}, 'a cmd container was inspected');
};

# ---- the same limits seen from inside ------------------------------------------------------------

verdict('from inside: no privileges, the limits in force', join('; ',
    'id -u', 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status', 'ulimit -n', 'ulimit -f', 'ulimit -c',
    'df -k --output=size /var/challenges /tmp | tail -n +2', 'stat -c %u .keep',
    'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null'), sub {
    my ($v) = @_;
    my @l = map { s/^\s+|\s+$//gr } split /\n/, $v->{output};
    is($l[0], $LIMIT{uid}, 'uid 1000');
    is($l[1], "CapEff:\t0000000000000000", 'no effective capability');
    is($l[2], "CapBnd:\t0000000000000000", 'an empty bounding set');
    is($l[3], "NoNewPrivs:\t1", 'no_new_privs is set');
    is($l[4], $LIMIT{nofile}, 'ulimit -n 256');
    is($l[5], $LIMIT{fsize} / 1024, 'ulimit -f 16 MiB');
    is($l[6], 0, 'ulimit -c 0');
    is($l[7], $LIMIT{tmpfs} / 1024, 'the challenge dir holds 16 MiB');
    is($l[8], $LIMIT{tmpfs} / 1024, '/tmp holds 16 MiB');
    is($l[9], $LIMIT{uid}, 'the challenge files belong to the user');
    is($l[10], $LIMIT{pids}, 'the cgroup allows 64 processes');
    is($l[11], $LIMIT{memory}, 'the cgroup allows 64 MiB');
}, correct => 0);

# ---- processes and resources ---------------------------------------------------------------------

# The classic bomb backgrounds itself: bash returns at once, the runner's final kill(-1) ends the
# bomb, the verdict comes in time and the next request finds a working service.
verdict('fork bomb :(){ :|:& };:', ':(){ :|:& };:', sub {
    my ($v) = @_;
    is($v->{timed_out}, JSON::PP::false, 'the bomb running in the background does not hold the verdict');
});
hello_still_works('after the fork bomb', 'echo hello world');

# In the foreground the bomb runs into PidsLimit: bash's fork fails (EAGAIN) and the wall budget ends it.
verdict('fork bomb in the foreground f(){ f|f; }; f', 'f(){ f|f; }; f', sub {
    my ($v) = @_;
    is($v->{timed_out}, JSON::PP::true, 'timed out');
    is($v->{exit_code}, 124, 'exit code 124 (the wall budget)');
    like($v->{output}, qr/fork: (?:retry: )?Resource temporarily unavailable/, 'fork failed: the pids limit was hit');
});
hello_still_works('after the foreground fork bomb', 'echo  hello world');

verdict('memory hog (tail /dev/zero keeps one endless line)', 'tail /dev/zero; echo "tail exit=$?"', sub {
    my ($v) = @_;
    like($v->{output}, qr/^tail exit=137$/m, 'the hog was SIGKILLed by the OOM killer (137); bash and the runner lived on');
    is($v->{timed_out}, JSON::PP::false, 'the memory limit ended it, not the clock');
});

verdict('yes flood', 'yes', sub {
    my ($v, $res) = @_;
    is($v->{truncated}, JSON::PP::true, 'truncated');
    # 64 KiB of "y\n" escape to 96 KiB: the reply's bound (96 KiB) cuts a little more.
    cmp_ok(length $res->{content}, '<=', 96 * 1024, 'the reply is at most 96 KiB (' . length($res->{content}) . ')');
    cmp_ok(length $v->{output}, '>', $LIMIT{output_cap} - 1024, 'nearly the 64 KiB output cap kept (' . length($v->{output}) . ')');
    cmp_ok(length $v->{output}, '<=', $LIMIT{output_cap}, 'and no more');
    like($v->{output}, qr/\A(?:y\n)+y?\z/, 'and it is what yes wrote');
});

verdict('cat /dev/urandom flood', 'cat /dev/urandom', sub {
    my ($v, $res) = @_;
    is($v->{truncated}, JSON::PP::true, 'truncated');
    my $bytes = $v->{output};
    utf8::encode($bytes);
    cmp_ok(length $bytes, '<=', $LIMIT{output_cap}, 'at most 64 KiB of UTF-8 in the reply');
    cmp_ok(length $bytes, '>=', $LIMIT{output_cap} - 4, 'and the cap was used');
    like($v->{output}, qr/\x{FFFD}/, 'invalid bytes came back as U+FFFD');
});

verdict('filling the challenge dir (tmpfs)', 'for i in $(seq 40); do head -c 1048576 /dev/zero > f$i || break; done; du -sk .', sub {
    my ($v) = @_;
    like($v->{output}, qr/No space left on device/, 'the tmpfs is full: ENOSPC');
    my ($kb) = $v->{output} =~ /^(\d+)\s+\.$/m;
    ok(defined $kb && $kb <= $LIMIT{tmpfs} / 1024, 'at most 16 MiB written (' . ($kb // '?') . ' KiB)');
});

verdict('one file past the size limit', 'head -c 100m /dev/zero > big; echo "rc=$?"; stat -c %s big', sub {
    my ($v) = @_;
    like($v->{output}, qr/^rc=153$/m, 'the writer got SIGXFSZ (128+25)');
    like($v->{output}, qr/^(\d+)$/m, 'the file exists');
    my ($size) = $v->{output} =~ /^(\d+)$/m;
    ok(defined $size && $size <= $LIMIT{fsize}, "it stopped at 16 MiB ($size bytes)");
});

verdict('filling /tmp', 'cd /tmp && for i in $(seq 40); do head -c 1048576 /dev/zero > f$i || break; done; du -sk /tmp', sub {
    my ($v) = @_;
    like($v->{output}, qr/No space left on device/, '/tmp is full: ENOSPC');
    my ($kb) = $v->{output} =~ /^(\d+)\s+\/tmp$/m;
    ok(defined $kb && $kb <= $LIMIT{tmpfs} / 1024, 'at most 16 MiB in /tmp (' . ($kb // '?') . ' KiB)');
});

verdict('a huge single line with no newline', q{head -c 5000000 /dev/zero | tr '\0' x}, sub {
    my ($v) = @_;
    is($v->{truncated}, JSON::PP::true, 'truncated');
    is($v->{output}, 'x' x $LIMIT{output_cap}, 'exactly 64 KiB of the line, no newline added');
});

verdict('sleep 100', 'sleep 100', sub {
    my ($v) = @_;
    is($v->{timed_out}, JSON::PP::true, 'timed out');
    is($v->{exit_code}, 124, 'exit code 124');
});

verdict("trap '' TERM INT busy loop", q{trap '' TERM INT; while :; do :; done}, sub {
    my ($v) = @_;
    is($v->{timed_out}, JSON::PP::true, 'timed out: ignoring TERM does not help against SIGKILL');
    is($v->{exit_code}, 124, 'exit code 124');
});

# A process that outlives the shell must neither hold the verdict nor survive the container.
for my $case (
    [ 'sleep 1000 &',           'sleep 1001 & echo started' ],
    [ 'nohup sleep 1000 &',     'nohup sleep 1002 >/dev/null 2>&1 & echo started' ],
    [ 'setsid sleep 1000',      'setsid sleep 1003 & echo started' ],
    [ 'double fork',            '( ( sleep 1004 & ) & ); echo started' ],
    [ 'setsid + nohup + disown', 'setsid nohup sleep 1005 </dev/null >/dev/null 2>&1 & disown; echo started' ],
) {
    my ($label, $cmd) = @$case;
    verdict("background process: $label", $cmd, sub {
        my ($v) = @_;
        is($v->{output}, "started\n", 'the shell finished');
        is($v->{timed_out}, JSON::PP::false, 'the background process did not hold the verdict');
        is($v->{exit_code}, 0, 'exit code 0');
    });
}
{
    # The probe must see such a process when there is one (a positive control on the host).
    my $pid = fork // die "fork: $!";
    exec('sleep', '1009') or POSIX::_exit(127) if $pid == 0;
    my $seen = 0;
    for (1 .. 50) { last if ($seen = host_processes(qr/^sleep 1009$/)); sleep 0.05 }
    ok($seen, 'the process probe sees a sleep 1009 started on the host');
    kill 'KILL', $pid;
    waitpid($pid, 0);
}
ok(no_process_left(qr/^sleep 100[1-5]$/), 'no background sleep survives, in any container of the stack or anywhere on the host');

verdict('kill -9 -1', 'sleep 30 & sleep 31 & kill -9 -1; wait; echo "survived; jobs left: $(jobs -r | wc -l)"', sub {
    my ($v) = @_;
    like($v->{output}, qr/^survived; jobs left: 0$/m, 'the sleeps died, bash went on');
    is($v->{timed_out}, JSON::PP::false, 'the runner (PID 1, out of reach) answered at once');
});

# ---- network -------------------------------------------------------------------------------------

verdict('network: /dev/tcp to the internet', 'exec 3<>/dev/tcp/1.1.1.1/80 && echo CONNECTED', sub {
    my ($v) = @_;
    like($v->{output}, qr/Network is unreachable/, 'Network is unreachable');
    unlike($v->{output}, qr/CONNECTED/, 'no connection');
});
verdict('network: /dev/tcp to the host and /dev/udp to a resolver',
    'exec 3<>/dev/tcp/127.0.0.1/80 && echo CONNECTED; exec 4<>/dev/udp/8.8.8.8/53 && echo UDP-OPEN', sub {
    my ($v) = @_;
    like($v->{output}, qr/127\.0\.0\.1\/80: Connection refused/, "loopback is the container's own, with nothing listening");
    like($v->{output}, qr/8\.8\.8\.8\/53: Network is unreachable/, 'no route for UDP');
    unlike($v->{output}, qr/CONNECTED|UDP-OPEN/, 'no connection');
});
verdict('network: a client tool (perl sockets; curl, wget, nc are not in the image)', join('; ',
    'for t in curl wget nc ncat socat python3 ssh telnet ping; do command -v $t; done',
    q{perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "93.184.216.34:80", Timeout => 2) or die "no socket: $!\n"; print "CONNECTED\n"'}), sub {
    my ($v) = @_;
    is($v->{output}, "no socket: Network is unreachable\n", 'no other client tool exists and perl cannot connect');
});
verdict('network: interfaces and DNS', 'tail -n +3 /proc/net/dev | cut -d: -f1; getent hosts example.com || echo NO-DNS', sub {
    my ($v) = @_;
    is($v->{output}, "    lo\nNO-DNS\n", 'only the loopback interface, no name resolution');
});

# ---- secrets and privileges ----------------------------------------------------------------------

verdict('secrets: /proc/1/environ and the runner\'s memory', 'cat /proc/1/environ; ls /proc/1/fd; head -c 16 /proc/1/mem', sub {
    my ($v) = @_;
    like($v->{output}, qr{/proc/1/environ: Permission denied}, '/proc/1/environ: Permission denied');
    like($v->{output}, qr{/proc/1/fd.*Permission denied}, '/proc/1/fd: Permission denied');
    like($v->{output}, qr{/proc/1/mem.*Permission denied}, '/proc/1/mem: Permission denied');
    unlike($v->{output}, qr/PATH=|HOSTNAME=/, 'no environment leaked');
});
verdict('secrets: the Docker socket', 'ls -l /var/run/docker.sock /run/docker.sock; find / -xdev -type s 2>/dev/null; echo END', sub {
    my ($v) = @_;
    like($v->{output}, qr{/var/run/docker\.sock': No such file}, 'no /var/run/docker.sock');
    like($v->{output}, qr{/run/docker\.sock': No such file}, 'no /run/docker.sock');
    like($v->{output}, qr/\nEND\n\z/s, 'no socket anywhere on the root file system');
    unlike($v->{output}, qr/^\/.*\.sock$/m, 'none listed');
});
verdict('secrets: /etc/shadow', 'cat /etc/shadow', sub {
    my ($v) = @_;
    is($v->{output}, "cat: /etc/shadow: Permission denied\n", 'Permission denied');
});
verdict('mount', 'mount -t tmpfs none /mnt; echo "rc=$?"', sub {
    my ($v) = @_;
    like($v->{output}, qr/must be superuser|Operation not permitted|permission denied/i, 'refused');
    like($v->{output}, qr/^rc=(?!0$)\d+$/m, 'mount failed');
});
verdict('chroot', 'chroot / /bin/true; echo "rc=$?"', sub {
    my ($v) = @_;
    like($v->{output}, qr/Operation not permitted/, 'Operation not permitted');
    like($v->{output}, qr/^rc=125$/m, 'chroot failed');
});
verdict('unshare and nsenter', 'unshare -r id; echo "rc=$?"; unshare -m true; echo "rc=$?"; nsenter -t 1 -m true; echo "rc=$?"', sub {
    my ($v) = @_;
    is(scalar(() = $v->{output} =~ /^rc=1$/mg), 3, 'all three failed');
    like($v->{output}, qr/unshare failed: Operation not permitted/, 'no new namespace, not even a user namespace');
    like($v->{output}, qr{cannot open /proc/1/ns/mnt: Permission denied}, "PID 1's namespaces are out of reach");
    unlike($v->{output}, qr/uid=0/, 'never root');
});
verdict('ptrace and privilege changes', join('; ',
    q{perl -e '$r = syscall(101, 16, 1, 0, 0); print "ptrace=$r $!\n"'},
    'setpriv --reuid=0 id; echo "rc=$?"', 'su -c id root </dev/null; echo "rc=$?"'), sub {
    my ($v) = @_;
    like($v->{output}, qr/^ptrace=-1 Operation not permitted$/m, 'PTRACE_ATTACH to PID 1: EPERM');
    like($v->{output}, qr/setresuid failed: Operation not permitted/, 'setpriv cannot become root');
    unlike($v->{output}, qr/uid=0/, 'never root');
});
verdict('writing outside the challenge dir', join('; ',
    'touch /x /etc/x /usr/bin/x /opt/cmdarena/challenges/hello_world/x',
    'echo pwned > /opt/cmdarena/bin/cmdarena-runner', 'echo pwned > /proc/sys/kernel/hostname',
    'ls /x /etc/x /usr/bin/x /opt/cmdarena/challenges/hello_world/x 2>&1 | grep -c "No such"'), sub {
    my ($v) = @_;
    is(scalar(() = $v->{output} =~ /Read-only file system/g), 6, 'six writes refused: Read-only file system');
    like($v->{output}, qr/^4$/m, 'no file was created');
});

# ---- output that attacks the page or the JSON ----------------------------------------------------

verdict('binary output with NUL bytes', q{printf 'a\000b\001c\377\376d'}, sub {
    my ($v, $res) = @_;
    is($v->{output}, "a\x{0}b\x{1}c\x{FFFD}\x{FFFD}d", 'NUL and control bytes escaped, invalid bytes U+FFFD');
    unlike($res->{content}, qr/[\x00-\x1f]/, 'no raw control byte in the reply');
});
verdict('invalid UTF-8', q{printf 'caf\303\251 \303( \355\240\200 \300\257 \364\220\200\200 \342\202'}, sub {
    my ($v, $res) = @_;
    like($v->{output}, qr/\Acaf\x{e9} \x{FFFD}\(/, 'valid characters kept, a broken one replaced');
    unlike($v->{output}, qr/[\x{D800}-\x{DFFF}]/, 'no surrogate got through');
    unlike($v->{output}, qr{/}, 'no overlong slash got through');
    like($v->{output}, qr/\x{FFFD}\z/, 'a character cut at the end is replaced too');
    ok(utf8::decode(my $copy = $res->{content}), 'the reply is valid UTF-8');
});
verdict('ANSI escapes', q{printf '\033[31mred\033[0m \033]0;pwned\007 \033[2J'}, sub {
    my ($v, $res) = @_;
    is($v->{output}, "\e[31mred\e[0m \e]0;pwned\a \e[2J", 'the escapes come back as characters of the output');
    unlike($res->{content}, qr/\e|\a/, 'as JSON escapes, never raw bytes');
});
verdict('<script> in the output', q{echo '<script>alert(document.cookie)</script>'}, sub {
    my ($v, $res) = @_;
    is($v->{output}, "<script>alert(document.cookie)</script>\n", 'the text is kept as text');
    like($res->{headers}{'content-type'}, qr{^application/json}, 'served as JSON, which no browser renders as HTML');
});
verdict('</pre> in the output', q{echo '</pre><img src=x onerror=alert(1)><pre>'}, sub {
    my ($v) = @_;
    is($v->{output}, "</pre><img src=x onerror=alert(1)><pre>\n", 'the text is kept as text');
});

# ---- hostile requests ----------------------------------------------------------------------------

my $q = '/r?slug=hello_world&ver=1';
refused('a 1 MiB query string', "$q&cmd=" . ('y' x (1024 * 1024)), 414, 'query_too_long');

my $pad = 'echo hello world #';
my $exact = $pad . ('x' x ($LIMIT{cmd_max} - length $pad));
verdict('a command of exactly the limit (1024 bytes)', $exact, sub {
    my ($v) = @_;
    is($v->{output}, "hello world\n", 'it ran whole');
}, correct => 1);
refused('a command one byte over the limit', $q . '&cmd=' . Cmdarena::Stack::uri_escape("$exact#"), 414, 'cmd_too_long');

# The limit counts decoded bytes: 2-byte characters fill it at half the characters.
# (Bytes, not Perl characters: "\xc3\xa9" is the UTF-8 of e-acute.)
my $wide = $pad . ("\xc3\xa9" x (($LIMIT{cmd_max} - length $pad) / 2));
is(length $wide, $LIMIT{cmd_max}, 'the multibyte command is exactly 1024 bytes');
verdict('a multibyte command of exactly the limit', $wide, sub {
    my ($v) = @_;
    is($v->{output}, "hello world\n", 'it ran whole');
}, correct => 1);
refused('a multibyte command one byte over', $q . '&cmd=' . Cmdarena::Stack::uri_escape("$wide#"), 414, 'cmd_too_long');

refused('%00 in cmd', "$q&cmd=echo%00hi", 400, 'nul_byte');
refused('%1b (ESC) in cmd', "$q&cmd=printf%20%1b%5b2J", 400, 'control_byte');
refused('slug=../../etc', '/r?slug=../../etc&ver=1&cmd=ls', 400, 'invalid_slug');
refused('slug=..%2F..%2Fetc%2Fpasswd', '/r?slug=..%2F..%2Fetc%2Fpasswd&ver=1&cmd=ls', 400, 'invalid_slug');
refused('slug with a NUL', '/r?slug=hello_world%00x&ver=1&cmd=ls', 400, 'invalid_slug');
refused('ver=1e3', '/r?slug=hello_world&ver=1e3&cmd=ls', 400, 'invalid_version');
refused('ver=-1', '/r?slug=hello_world&ver=-1&cmd=ls', 400, 'invalid_version');
refused('ver=99999999999999999999', '/r?slug=hello_world&ver=99999999999999999999&cmd=ls', 400, 'invalid_version');
refused('ver=0x1', '/r?slug=hello_world&ver=0x1&cmd=ls', 400, 'invalid_version');
refused('missing slug', '/r?ver=1&cmd=ls', 400, 'missing_parameter');
refused('missing ver', '/r?slug=hello_world&cmd=ls', 400, 'missing_parameter');
refused('missing cmd', '/r?slug=hello_world&ver=1', 400, 'missing_parameter');
refused('no query at all', '/r', 400, 'missing_parameter');
refused('repeated slug', '/r?slug=hello_world&slug=hello_world&ver=1&cmd=ls', 400, 'repeated_parameter');
refused('repeated ver', '/r?slug=hello_world&ver=1&ver=1&cmd=ls', 400, 'repeated_parameter');
refused('repeated cmd', "$q&cmd=ls&cmd=pwd", 400, 'repeated_parameter');
refused('invalid percent-encoding', "$q&cmd=echo%g0", 400, 'invalid_encoding');
refused('POST', "$q&cmd=ls", 405, 'method_not_allowed', method => 'POST',
    http => { content => 'cmd=ls', headers => { 'content-type' => 'application/x-www-form-urlencoded' } },
    check => sub { is($_[0]{headers}{allow}, 'GET', 'Allow: GET') });
refused('PUT', "$q&cmd=ls", 405, 'method_not_allowed', method => 'PUT');
refused('HEAD', "$q&cmd=ls", 405, undef, method => 'HEAD');
refused('DELETE', "$q&cmd=ls", 405, 'method_not_allowed', method => 'DELETE');
refused('a POST with a 1 MiB body', "$q&cmd=ls", 413, 'request_too_large', method => 'POST',
    http => { content => 'z' x (1024 * 1024) });
# nginx turns its 494 into a 400 before the error page sees it: the code is bad_request.
refused('a 16 KiB header', "$q&cmd=ls", 400, 'bad_request',
    http => { headers => { 'x-padding' => 'p' x 16384 } });
refused('a path climbing out of the root', '/../../etc/passwd', 400, 'bad_request',
    check => sub { unlike($_[0]{content}, qr/root:/, 'no file content') });

# ---- afterwards ----------------------------------------------------------------------------------

hello_still_works('after every case', 'echo   hello world');
{
    my $m = $s->metrics;
    is($m->{'cmdarena_workers_respawned_total'} // 0, 0, 'no worker died on the way');
    is($m->{'cmdarena_pool_create_failures_total{engine="0"}'} // 0, 0, 'no container failed to start');
    my ($fivexx) = 0;
    for my $k (grep { /^cmdarena_requests_total\{/ } keys %$m) {
        $fivexx += $m->{$k} if $k =~ /outcome="(?:unavailable|timeout|internal)"/;
    }
    is($fivexx, 0, 'no request ended in a 5xx');
}
# Settle: every used container removed, only the warm pool left (stop() then checks zero).
{
    my $ok = 0;
    for (1 .. 100) {
        my $m = $s->metrics;
        my $idle = $m->{'cmdarena_pool_idle{engine="0"}'} // 0;
        my $creating = $m->{'cmdarena_pool_creating{engine="0"}'} // 0;
        my $n = @{ $s->containers($s->node) };
        if (($m->{'cmdarena_pool_claimed{engine="0"}'} // 1) == 0 && $n <= $idle + $creating) {
            $ok = 1;
            last;
        }
        sleep 0.1;
    }
    ok($ok, 'every used container was removed: only the warm pool is left');
}

$s->stop;
done_testing;
