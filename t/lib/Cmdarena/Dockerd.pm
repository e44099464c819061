package Cmdarena::Dockerd;

# A second Docker engine of a test's own: dockerd on its own unix socket (and, on request, a
# TLS tcp:// listener on loopback with client certificates), its own data root, exec root and
# pid file, with ./arena's flags, loaded with the sandbox image from the machine's engine. The
# machine's engine is never touched; stop() and destroy() act on this dockerd's pid only.
#
#   my $dd = Cmdarena::Dockerd->new(tls => 1);   # dies when it cannot start
#   Cmdarena::Dockerd->new(runtimes => { crun => '/usr/bin/crun' });   # --add-runtime, as ./arena
#   $dd->url;          # unix:///tmp/.../docker.sock
#   $dd->tls_engine;   # "tcp://127.0.0.1:PORT cert=... key=... ca=..." for cmdarena.conf
#   $dd->stop; $dd->start;   # SIGTERM and wait / the same engine again (same data root)
#   $dd->destroy;      # stop, end what it left running, unmount, remove its directories

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

use Cmdarena::Stack;

my $json = JSON::PP->new->utf8->canonical;

sub new {
    my ($class, %opt) = @_;
    my $dir = tempdir('cmdarena-dd-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    my $self = bless { dir => $dir, sock => "$dir/docker.sock", tls => $opt{tls}, runtimes => $opt{runtimes} // {} },
        $class;
    $self->start_guardian;
    if ($opt{tls}) {
        $self->{port} = Cmdarena::Stack::free_port();
        $self->make_certificates;
    }
    $self->start;
    $self->load_image($opt{image} // Cmdarena::Stack::image());
    return $self;
}

sub dir  { $_[0]{dir} }
sub sock { $_[0]{sock} }
sub pid  { $_[0]{pid} }
sub url  { "unix://$_[0]{sock}" }

sub tls_engine {
    my ($self) = @_;
    croak 'this dockerd has no TLS listener' unless $self->{tls};
    my $d = $self->{dir};
    return "tcp://127.0.0.1:$self->{port} cert=$d/tls/cert.pem key=$d/tls/key.pem ca=$d/tls/ca.pem";
}

sub run_quiet {
    my ($self, @cmd) = @_;
    system(join(' ', map { "'$_'" } @cmd) . " >>'$self->{dir}/setup.log' 2>&1") == 0
        or croak "failed: @cmd (see $self->{dir}/setup.log)";
}

# A CA, a server certificate for 127.0.0.1 and a client certificate, all EC P-256, valid 2 days.
sub make_certificates {
    my ($self) = @_;
    my $t = "$self->{dir}/tls";
    mkdir $t or croak "mkdir $t: $!";
    my @key = ('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    $self->run_quiet(@key, '-out', "$t/ca-key.pem");
    $self->run_quiet('openssl', 'req', '-x509', '-new', '-key', "$t/ca-key.pem", '-days', '2',
        '-subj', '/CN=cmdarena test CA', '-out', "$t/ca.pem");
    for my $who ([server => 'serverAuth', "subjectAltName=IP:127.0.0.1\n"], [client => 'clientAuth', '']) {
        my ($name, $usage, $extra) = @$who;
        my ($keyf, $certf) = $name eq 'client' ? ("$t/key.pem", "$t/cert.pem") : ("$t/server-key.pem", "$t/server-cert.pem");
        $self->run_quiet(@key, '-out', $keyf);
        $self->run_quiet('openssl', 'req', '-new', '-key', $keyf, '-subj', "/CN=cmdarena test $name", '-out', "$t/$name.csr");
        open(my $ext, '>', "$t/$name.ext") or croak $!;
        print $ext "${extra}extendedKeyUsage=$usage\n";
        close $ext;
        $self->run_quiet('openssl', 'x509', '-req', '-in', "$t/$name.csr", '-CA', "$t/ca.pem", '-CAkey', "$t/ca-key.pem",
            '-CAcreateserial', '-days', '2', '-extfile', "$t/$name.ext", '-out', $certf);
    }
}

sub answers {
    my ($self) = @_;
    return system('curl', '-sf', '--max-time', '2', '--unix-socket', $self->{sock}, '-o', '/dev/null',
        'http://docker/_ping') == 0;
}

# Start a program in a session of its own, stdin from /dev/null, stdout and stderr appended to $log.
sub spawn_detached {
    my ($log, @cmd) = @_;
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log);
        open(STDERR, '>&', \*STDOUT);
        POSIX::setsid();
        exec @cmd or POSIX::_exit(127);
    }
    return $pid;
}

sub start {
    my ($self) = @_;
    my $d = $self->{dir};
    my @cmd = ('dockerd', '--bridge=none', '--iptables=false', '--ip-masq=false', '-H', "unix://$self->{sock}",
        '--data-root', "$d/data", '--exec-root', "$d/exec", '--pidfile', "$d/dockerd.pid",
        '--shutdown-timeout', '2');
    push @cmd, map { ('--add-runtime', "$_=$self->{runtimes}{$_}") } sort keys %{ $self->{runtimes} };
    push @cmd, '-H', "tcp://127.0.0.1:$self->{port}", '--tlsverify', '--tlscacert', "$d/tls/ca.pem",
        '--tlscert', "$d/tls/server-cert.pem", '--tlskey', "$d/tls/server-key.pem" if $self->{tls};
    my $pid = spawn_detached("$d/dockerd.log", @cmd);
    $self->{pid} = $pid;
    # For the guardian: the dockerd running now (its pid changes with each start).
    if (open(my $fh, '>', "$d/harness-dockerd.pid")) {
        print $fh "$pid\n";
        close $fh;
    }
    my $until = time + 60;
    while (time < $until) {
        return $self if $self->answers;
        croak "dockerd exited at start:\n" . `tail -20 '$d/dockerd.log'` if waitpid($pid, WNOHANG) == $pid;
        sleep 0.2;
    }
    croak "dockerd did not answer on $self->{sock} within 60 s:\n" . `tail -20 '$d/dockerd.log'`;
}

# docker save from the machine's engine, docker load into this one.
sub load_image {
    my ($self, $image) = @_;
    my $main = Cmdarena::Stack::engine_socket();
    my $rc = system("docker -H 'unix://$main' save '$image' | docker -H '" . $self->url
        . "' load -q >>'$self->{dir}/setup.log' 2>&1");
    croak "cannot load $image into the second dockerd (see $self->{dir}/setup.log)" if $rc != 0;
}

# SIGTERM to this dockerd (it stops its containers within --shutdown-timeout) and wait for it.
sub stop {
    my ($self, $wait) = @_;
    my $pid = delete $self->{pid} or return 1;
    kill 'CONT', $pid;
    kill 'TERM', $pid;
    my $until = time + ($wait // 40);
    while (time < $until) {
        # Our child is reaped; the guardian's (not its child) is gone when kill 0 fails.
        my $w = waitpid($pid, WNOHANG);
        return 1 if $w == $pid || ($w == -1 && !kill(0, $pid));
        sleep 0.1;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return 0;
}

# The Docker API on this engine's socket: (status, decoded body).
sub docker {
    my ($self, $method, $path, $body) = @_;
    my @cmd = ('curl', '-s', '--max-time', '30', '--unix-socket', $self->{sock}, '-X', $method, '-w', '\n%{http_code}');
    push @cmd, '-H', 'Content-Type: application/json', '--data-binary', $body if defined $body;
    open(my $fh, '-|', @cmd, "http://docker$path") or croak "curl: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my ($payload, $status) = $out =~ /\A(.*)\n(\d+)\z/s or return (0, undef);
    return ($status, eval { $json->decode($payload) } // $payload);
}

# Containers labelled cmdarena (of one node when given), running or not.
sub containers {
    my ($self, $node) = @_;
    my $filter = $json->encode({ label => [ defined $node ? "cmdarena.node=$node" : 'cmdarena' ] });
    $filter =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my ($status, $list) = $self->docker('GET', "/containers/json?all=1&filters=$filter");
    croak "list on the second dockerd failed ($status)" unless $status == 200;
    return $list;
}

# A container caught half-started when its engine stopped keeps its containerd-shim (and a
# `runc init`) running on their own, reparented to init. SIGKILL every process whose command line
# names this engine's directory, and everything under them, by pid. Returns how many there were.
sub kill_leftovers {
    my ($self) = @_;
    my (%kids, @roots);
    for my $stat (glob '/proc/[0-9]*/stat') {
        my ($pid) = $stat =~ m{/proc/(\d+)/};
        open(my $fh, '<', $stat) or next;
        my ($ppid) = (<$fh> // '') =~ /\) \S+ (\d+)/ or next;
        push @{ $kids{$ppid} }, $pid;
        open(my $cf, '<', "/proc/$pid/cmdline") or next;
        push @roots, $pid if index(<$cf> // '', $self->{dir}) >= 0 && $pid != $$;
    }
    my (@all, %seen);
    my @todo = @roots;
    while (defined(my $pid = shift @todo)) {
        next if $seen{$pid}++;
        push @all, $pid;
        push @todo, @{ $kids{$pid} // [] };
    }
    kill 'KILL', @all if @all;
    return scalar @all;
}

# If the test process disappears without destroy() (SIGKILL), a guardian process stops the
# dockerd and removes what it left. destroy() calls it off.
sub start_guardian {
    my ($self) = @_;
    $self->{guardian} = Cmdarena::Stack::guardian(sub {
        my $dockerd;
        if (open(my $fh, '<', "$self->{dir}/harness-dockerd.pid")) {
            ($dockerd) = (<$fh> // '') =~ /^(\d+)/;
        }
        # Only if that pid still runs a dockerd (not a process that reused the number).
        $self->{pid} = $dockerd if $dockerd && (readlink("/proc/$dockerd/exe") // '') =~ m{/dockerd$};
        $self->destroy;
    });
}

sub destroy {
    my ($self) = @_;
    return if $self->{destroyed}++;
    if (my $g = delete $self->{guardian}) {
        kill 'TERM', $g;
        waitpid($g, 0);
    }
    # Containers first (none should be left; a test failed if so), then the engine.
    if ($self->{pid} && $self->answers) {
        my $left = eval { $self->containers } // [];
        $self->docker('DELETE', "/containers/$_->{Id}?force=1") for @$left;
    }
    $self->stop;
    $self->kill_leftovers;
    # Nothing of it may stay mounted before its directories go.
    if (open(my $m, '<', '/proc/mounts')) {
        my @mounts = grep { index($_, $self->{dir}) == 0 } map { (split ' ')[1] } <$m>;
        system('umount', '-l', $_) for reverse @mounts;
    }
    system('rm', '-rf', $self->{dir}) unless $ENV{CMDARENA_KEEP};
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    $self->destroy;
}

1;
