package Cmdarena::Stack;

# A real cmdarena stack for one test file: redis-server, cmdarena-fcgi (master, pool keeper,
# workers) and nginx, each started here on its own socket or free port in a temp dir, against
# the real Docker engine and the real sandbox image. Nothing is mocked: a component that cannot
# start makes the test die (fail), never skip.
#
#   my $s = Cmdarena::Stack->new(workers => 2, conf => { pool_size => 2 });
#   my $res = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
#   is $res->{json}{correct}, JSON::PP::true;
#   $s->stop;   # also done on destruction; reports sanitizer findings in the logs as failures

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(dirname(__FILE__) . '/../../..');
my $json = JSON::PP->new->utf8->canonical;
my $stack_count = 0;

sub root { $ROOT }

# Where the binaries are: the sanitizer build under ./arena test, else the plain one.
sub build_dir {
    return $ENV{CMDARENA_BUILD} if $ENV{CMDARENA_BUILD};
    for my $d ("$ROOT/var/build-san", "$ROOT/var/build", $ROOT) {
        return $d if -x "$d/fcgi/cmdarena-fcgi";
    }
    croak "no build of cmdarena-fcgi found: run ./arena test (or set CMDARENA_BUILD)";
}

sub image {
    return $ENV{CMDARENA_IMAGE} if $ENV{CMDARENA_IMAGE};
    my $f = ($ENV{CMDARENA_STATE} // "$ROOT/var") . '/sandbox-image';
    open(my $fh, '<', $f) or croak "no sandbox image recorded in $f: run ./arena test (or set CMDARENA_IMAGE)";
    chomp(my $tag = <$fh>);
    return $tag;
}

sub engine { $ENV{CMDARENA_ENGINE} // 'unix:///var/run/docker.sock' }

sub engine_socket {
    my $e = engine();
    $e =~ s{^unix://}{} or croak "the harness talks to unix-socket engines only, not $e";
    return $e;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# The Docker engine API over its unix socket (curl does the unix-socket HTTP).
sub docker {
    my ($class_or_self, $method, $path, $body) = @_;
    my @cmd = ('curl', '-s', '--max-time', '30', '--unix-socket', engine_socket(), '-X', $method,
        '-w', '\n%{http_code}');
    push @cmd, '-H', 'Content-Type: application/json', '--data-binary', $body if defined $body;
    push @cmd, "http://docker$path";
    open(my $fh, '-|', @cmd) or croak "curl: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my ($payload, $status) = $out =~ /\A(.*)\n(\d+)\z/s or return (0, undef);
    my $data = eval { $json->decode($payload) };
    return ($status, $data // $payload);
}

sub engine_answers {
    my ($status) = __PACKAGE__->docker('GET', '/_ping');
    return $status == 200;
}

# Containers carrying label `cmdarena` (optionally only one node's), as [{Id, Labels, State}].
sub containers {
    my ($self_or_class, $node) = @_;
    my $filter = $json->encode({ label => [ defined $node ? "cmdarena.node=$node" : 'cmdarena' ] });
    $filter =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my ($status, $list) = __PACKAGE__->docker('GET', "/containers/json?all=1&filters=$filter");
    croak "docker list failed ($status)" unless $status == 200;
    return $list;
}

sub new {
    my ($class, %opt) = @_;
    engine_answers() or die "the Docker engine at " . engine() . " does not answer: start it (./arena test does)\n";
    my $self = bless {
        dir     => tempdir('cmdarena-t-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{CMDARENA_KEEP}),
        port    => free_port(),
        build   => build_dir(),
        image   => image(),
        node    => "t-$$-" . ++$stack_count,
        workers => $opt{workers} // 2,
        # No limit per client unless a test asks: tests send many requests from loopback.
        # CMDARENA_RUNTIME (runc or crun) picks the OCI runtime of every stack (t0718 runs tests on both).
        conf    => { pool_size => 2, pool_size_nobin => 1, rate_limit_count => 0, client_executions_max => 0,
            client_waits_max => 0, $ENV{CMDARENA_RUNTIME} ? (runtime => $ENV{CMDARENA_RUNTIME}) : (),
            %{ $opt{conf} // {} } },
        challenges => $opt{challenges} // "$ROOT/challenges",
        # The app's config file (its -o settings still win) and a command to run cmdarena-fcgi under.
        config_file => $opt{config_file} // "$ROOT/conf/cmdarena.conf",
        fcgi_wrap => $opt{fcgi_wrap} // [],
        # Tests send many requests from loopback: no nginx limit_req unless a test asks for it.
        limit_exempt => $opt{limit_exempt} // '"127.0.0.1" "";',
        redis_maxmemory => $opt{redis_maxmemory} // '64mb',
        solutions_instance => $opt{solutions_instance},
        pids    => {},
    }, $class;
    $self->{http} = HTTP::Tiny->new(timeout => 30, max_redirect => 0, keep_alive => 0);
    make_path(map { "$self->{dir}/$_" } qw(run log redis redis-solutions nginx/cache nginx/client_body nginx/fastcgi_temp
        nginx/proxy_temp nginx/uwsgi_temp nginx/scgi_temp));
    $self->start_guardian;
    $self->start_redis;
    $self->start_solutions_redis if $self->{solutions_instance};
    $self->start_fcgi;
    $self->start_nginx;
    $self->wait_ready;
    return $self;
}

# A test killed by a signal still stops its stack: TERM and INT end the test normally (so stop()
# and DESTROY run), and a small guardian process stops the stack's processes if the test process
# disappears without that (SIGKILL). It exits quietly when stop() tells it to.
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { die "test interrupted by SIG$_[0]\n" };

# guardian(CODE): a process of its own that runs CODE once the calling process is gone (even
# killed with SIGKILL). Returns its pid: SIGTERM calls it off. (Cmdarena::Dockerd uses it too.)
sub guardian {
    my ($cleanup) = @_;
    my $owner = $$;
    my $pid = fork // croak "fork: $!";
    return $pid if $pid;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{INT} = $SIG{HUP} = 'IGNORE';
    # Hold none of the test's output: prove waits for it to close.
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>', '/dev/null');
    open(STDERR, '>', '/dev/null');
    POSIX::setsid();
    # The owner is our parent; once it dies (even as an unreaped zombie) we are re-parented.
    sleep 0.5 while getppid() == $owner;
    $cleanup->();
    POSIX::_exit(0);
}

sub start_guardian {
    my ($self) = @_;
    $self->{guardian} = guardian(sub { $self->guardian_cleanup });
}

# The test is gone: stop what it started (pids recorded by spawn_logged), nginx first.
sub guardian_cleanup {
    my ($self) = @_;
    for my $name (qw(nginx fcgi redis redis-solutions)) {
        my $file = "$self->{dir}/run/harness-$name.pid";
        open(my $fh, '<', $file) or next;
        my ($p, $exe) = split ' ', (<$fh> // '');
        next unless $p && readlink("/proc/$p/exe") && readlink("/proc/$p/exe") eq $exe;
        kill 'TERM', $p;
        for (1 .. 600) { last unless kill(0, $p); sleep 0.05 }
        kill 'KILL', $p if kill(0, $p);
    }
    File::Path::remove_tree($self->{dir}) unless $ENV{CMDARENA_KEEP};
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{port} }
sub node { $_[0]{node} }
sub base { "http://127.0.0.1:$_[0]{port}" }

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

sub spawn_logged {
    my ($self, $name, @cmd) = @_;
    my $pid = spawn_detached("$self->{dir}/log/$name.log", @cmd);
    # For the guardian: which pid runs which program.
    if (open(my $fh, '>', "$self->{dir}/run/harness-$name.pid")) {
        my $perl = readlink("/proc/$$/exe") // '';
        for (1 .. 500) {    # until the child has exec'd (or is gone), at most 5 s
            my $exe = readlink("/proc/$pid/exe");
            last if !defined $exe || $exe ne $perl;
            sleep 0.01;
        }
        print $fh "$pid " . (readlink("/proc/$pid/exe") // '') . "\n";
        close $fh;
    }
    return $pid;
}

sub redis_socket { "$_[0]{dir}/run/redis.sock" }
sub solutions_socket { "$_[0]{dir}/run/redis-solutions.sock" }

# The cache's Redis has a maxmemory (redis_maxmemory, default 64mb) and evicts only keys with a
# TTL (verdicts, locks, buckets), never the solutions when they share it. With
# solutions_instance => 1 the solutions have a second, persistent instance (appendonly,
# noeviction), as ./arena up runs them.
sub start_redis {
    my ($self) = @_;
    $self->{pids}{redis} = $self->spawn_logged('redis', 'redis-server', '--port', '0',
        '--unixsocket', $self->redis_socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
        '--maxmemory', $self->{redis_maxmemory}, '--maxmemory-policy', 'volatile-lru',
        '--dir', "$self->{dir}/redis", '--daemonize', 'no');
    $self->wait_redis($self->redis_socket, 'redis');
}

sub wait_redis {
    my ($self, $sock, $name) = @_;
    for (1 .. 100) {
        return if -S $sock && $self->redis_at($sock, 'PING') eq 'PONG';
        sleep 0.05;
    }
    croak "redis-server did not start (see $self->{dir}/log/$name.log)";
}

sub stop_redis {
    my ($self) = @_;
    $self->stop_pid('redis', 10);
    unlink $self->redis_socket;
}

sub start_solutions_redis {
    my ($self) = @_;
    $self->{pids}{'redis-solutions'} = $self->spawn_logged('redis-solutions', 'redis-server', '--port', '0',
        '--unixsocket', $self->solutions_socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'yes',
        '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
        '--dir', "$self->{dir}/redis-solutions", '--daemonize', 'no');
    $self->wait_redis($self->solutions_socket, 'redis-solutions');
}

sub stop_solutions_redis {
    my ($self) = @_;
    $self->stop_pid('redis-solutions', 10);
    unlink $self->solutions_socket;
}

sub redis { my $self = shift; return $self->redis_at($self->redis_socket, @_) }
sub redis_solutions { my $self = shift; return $self->redis_at($self->solutions_socket, @_) }

sub redis_at {
    my ($self, $sock, @args) = @_;
    open(my $fh, '-|', 'redis-cli', '-s', $sock, @args) or croak "redis-cli: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $out;
}

sub fcgi_args {
    my ($self) = @_;
    my %o = (
        socket      => "$self->{dir}/run/fcgi.sock",
        pool_socket => "$self->{dir}/run/pool.sock",
        redis       => 'unix:' . $self->redis_socket,
        $self->{solutions_instance} ? (solutions_redis => 'unix:' . $self->solutions_socket) : (),
        challenges  => $self->{challenges},
        image       => $self->{image},
        engine      => engine(),
        node_id     => $self->{node},
        workers     => $self->{workers},
        %{ $self->{conf} },
    );
    my @engines = ref $o{engine} ? @{ delete $o{engine} } : (delete $o{engine});
    return ('-c', $self->{config_file}, (map { ('-o', "engine=$_") } @engines),
        (map { ('-o', "$_=$o{$_}") } sort keys %o), '-p', "$self->{dir}/run/fcgi.pid");
}

sub start_fcgi {
    my ($self) = @_;
    $self->{pids}{fcgi} = $self->spawn_logged('fcgi', @{ $self->{fcgi_wrap} }, "$self->{build}/fcgi/cmdarena-fcgi",
        $self->fcgi_args);
    for (1 .. 200) {
        return if -S "$self->{dir}/run/fcgi.sock";
        croak "cmdarena-fcgi exited at start:\n" . $self->log('fcgi')
            if waitpid($self->{pids}{fcgi}, WNOHANG) > 0;
        sleep 0.05;
    }
    croak "cmdarena-fcgi did not open its socket (see $self->{dir}/log/fcgi.log)";
}

# conf/nginx.conf (the private main config with conf/nginx-http.conf and conf/nginx-site.conf, the
# parts a Debian host installs, pasted in) with this stack's values (cache_salt as the fcgi side
# has it), rendered by conf/render-nginx as ./arena does; reload_nginx after changing them on a
# running stack.
sub write_nginx_conf {
    my ($self) = @_;
    my %v = (STATE => $self->{dir}, LISTEN => "127.0.0.1:$self->{port}", SERVER_NAME => 'localhost',
        HTDOCS => "$ROOT/htdocs", FCGI_SOCKET => "$self->{dir}/run/fcgi.sock", NGINX_USER => scalar(getpwuid($<)),
        LOG_DIR => "$self->{dir}/log", CACHE_DIR => "$self->{dir}/nginx/cache",
        LIMIT_EXEMPT => $self->{limit_exempt}, CACHE_SALT => $self->{conf}{cache_salt} // '',
        REAL_IP_FROM => real_ip_from($self->{conf}{trusted_proxies}));
    open(my $in, '-|', "$ROOT/conf/render-nginx", "$ROOT/conf/nginx.conf", map { "$_=$v{$_}" } sort keys %v)
        or croak "conf/render-nginx: $!";
    local $/;
    my $conf = <$in>;
    close $in or croak "conf/render-nginx failed (status $?)";
    open(my $out, '>', "$self->{dir}/nginx/nginx.conf") or croak "write nginx.conf: $!";
    print $out $conf;
    close $out;
}

# nginx's set_real_ip_from lines for cmdarena.conf's trusted_proxies (blanks or commas between).
sub real_ip_from {
    my ($list) = @_;
    return join ' ', map { "set_real_ip_from $_;" } grep { length } split /[\s,]+/, $list // '';
}

sub start_nginx {
    my ($self) = @_;
    $self->write_nginx_conf;
    $self->{pids}{nginx} = $self->spawn_logged('nginx', 'nginx', '-p', "$self->{dir}/nginx",
        '-c', "$self->{dir}/nginx/nginx.conf", '-e', "$self->{dir}/log/nginx-error.log", '-g', 'daemon off;');
    for (1 .. 100) {
        my $res = $self->{http}->get($self->base . '/');
        return if $res->{status} != 599;
        sleep 0.05;
    }
    croak "nginx did not answer (see $self->{dir}/log/nginx-error.log)";
}

sub reload_nginx { kill 'HUP', $_[0]{pids}{nginx} }

# Ready when every engine has started containers waiting.
sub wait_ready {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // 60);
    while (time < $until) {
        my $m = $self->metrics;
        return 1 if $m && $m->{'cmdarena_pool_idle{engine="0"}'} && $m->{'cmdarena_workers_alive'};
        croak "sandbox containers cannot be created:\n" . $self->log('fcgi')
            if $m && ($m->{'cmdarena_pool_create_failures_total{engine="0"}'} // 0) >= 3;
        sleep 0.1;
    }
    croak "the pool did not get ready:\n" . $self->log('fcgi');
}

sub url {
    my ($self, %q) = @_;
    my $qs = join '&', map { "$_=" . uri_escape($q{$_}) } sort keys %q;
    return $self->base . "/r?$qs";
}

sub uri_escape {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# GET a path (with its query, already encoded); returns HTTP::Tiny's hash plus {json}.
sub get {
    my ($self, $path, %opt) = @_;
    my $method = $opt{method} // 'GET';
    my $res = $self->{http}->request($method, $self->base . $path, $opt{http} // {});
    $res->{json} = eval { $json->decode($res->{content}) } if length($res->{content} // '');
    return $res;
}

sub r {
    my ($self, %q) = @_;
    my $qs = join '&', map { "$_=" . uri_escape($q{$_}) } grep { $_ ne 'method' } sort keys %q;
    return $self->get("/r?$qs", method => $q{method});
}

sub metrics {
    my ($self) = @_;
    my $res = $self->{http}->get($self->base . '/metrics');
    return undef unless $res->{success};
    my %m;
    for (split /\n/, $res->{content}) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

sub executions { $_[0]->metrics->{cmdarena_executions_total} // 0 }

sub wipe_nginx_cache {
    my ($self) = @_;
    remove_tree("$self->{dir}/nginx/cache", { keep_root => 1 });
}

sub log {
    my ($self, $name) = @_;
    open(my $fh, '<', "$self->{dir}/log/$name.log") or return '';
    local $/;
    return <$fh> // '';
}

sub fcgi_pid { $_[0]{pids}{fcgi} }

# The pids of the master's children, from /proc.
sub children_of {
    my ($self, $ppid) = @_;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open(my $fh, '<', $stat) or next;
        my $line = <$fh> // next;
        my ($pid, $pp) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @kids, $pid if $pp == $ppid;
    }
    return @kids;
}

sub stop_pid {
    my ($self, $name, $wait) = @_;
    my $pid = delete $self->{pids}{$name} or return;
    kill 'TERM', $pid;
    my $until = time + ($wait // 20);
    while (time < $until) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    diag "$name (pid $pid) had to be killed";
}

sub stop_guardian {
    my ($self) = @_;
    my $g = delete $self->{guardian} or return;
    kill 'TERM', $g;
    waitpid($g, 0);
}

sub stop {
    my ($self) = @_;
    return if $self->{stopped}++;
    $self->stop_guardian;
    $self->stop_pid('nginx', 10);
    $self->stop_pid('fcgi', 30);
    $self->stop_pid('redis', 10);
    $self->stop_pid('redis-solutions', 10);
    my $log = $self->log('fcgi');
    my @reports = $log =~ /^(.*(?:AddressSanitizer|LeakSanitizer|runtime error:).*)$/mg;
    ok(!@reports, 'no sanitizer report in the pool\'s log') or diag join "\n", @reports[0 .. ($#reports < 20 ? $#reports : 20)];
    my $left = containers(undef, $self->{node});
    is(scalar @$left, 0, "no container of this stack left on the engine") or
        diag join "\n", map { "$_->{Id} $_->{State}" } @$left;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    return if $self->{stopped};
    # A test that died without stop(): still clean up, quietly.
    $self->{stopped} = 1;
    $self->stop_guardian;
    for my $name (qw(nginx fcgi redis redis-solutions)) {
        my $pid = delete $self->{pids}{$name} or next;
        kill 'TERM', $pid;
        for (1 .. 400) { last if waitpid($pid, WNOHANG) == $pid; sleep 0.05 }
        kill 'KILL', $pid;
    }
}

1;
