package Cmdarena::Stack;

# A real cmdarena stack for one test file: redis-server, cmdarena-fcgi (master, pool keeper,
# workers) and nginx, on their own sockets and a free port in a temp dir, against the real Docker
# engine and the real sandbox image. conf/stack (the launcher ./arena uses too) starts, waits for
# and stops them; this file adds what only tests need: the temp dir and free port, the test's
# defaults, a guardian, HTTP and Redis helpers. Nothing is mocked: a component that cannot start
# makes the test die (fail), never skip.
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
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

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
    }, $class;
    $self->{http} = HTTP::Tiny->new(timeout => 30, max_redirect => 0, keep_alive => 0);
    $self->start_guardian;
    diag "CMDARENA_KEEP: this stack's directory stays: $self->{dir} (conf/stack start DIR runs it again)"
        if $ENV{CMDARENA_KEEP};
    $self->stack('start', $self->launcher_options);
    return $self;
}

# conf/stack's options for this stack: the launcher adds the paths in the temp dir.
sub launcher_options {
    my ($self) = @_;
    my %o = (challenges => $self->{challenges}, image => $self->{image}, engine => engine(), node_id => $self->{node},
        workers => $self->{workers}, %{ $self->{conf} });
    my @engines = ref $o{engine} ? @{ delete $o{engine} } : (delete $o{engine});
    return ('--port', $self->{port}, '--build', $self->{build}, '--config', $self->{config_file},
        (map { ('--wrap', $_) } @{ $self->{fcgi_wrap} }), '--limit-exempt', $self->{limit_exempt},
        '--nginx-user', scalar(getpwuid($<)), '--redis-maxmemory', $self->{redis_maxmemory},
        $self->{solutions_instance} ? '--solutions' : '--no-solutions',
        (map { ('-o', "engine=$_") } @engines), map { ('-o', "$_=$o{$_}") } sort keys %o);
}

# conf/stack COMMAND DIR ARGS: its output is a note, its warnings a diag; it failing makes the
# test die with what it said. QUIET (for clean-ups): nothing shown, nothing dies.
sub stack {
    my ($self, $command, @args) = @_;
    $self->run_launcher(0, $command, @args);
}

sub run_launcher {
    my ($self, $quiet, $command, @args) = @_;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>&', \*STDOUT);
        exec("$ROOT/conf/stack", $command, $self->{dir}, @args) or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    my $ok = close $fh;
    return $ok if $quiet;
    croak "conf/stack $command failed:\n$out" unless $ok;
    for (split /\n/, $out) { /^stack: / ? diag($_) : note($_) }
    return 1;
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

# The test is gone: stop what it started (conf/stack stops by the pids it recorded).
sub guardian_cleanup {
    my ($self) = @_;
    $self->run_launcher(1, 'stop');
    File::Path::remove_tree($self->{dir}) unless $ENV{CMDARENA_KEEP};
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{port} }
sub node { $_[0]{node} }
sub base { "http://127.0.0.1:$_[0]{port}" }

sub redis_socket { "$_[0]{dir}/run/redis.sock" }
sub solutions_socket { "$_[0]{dir}/run/redis-solutions.sock" }

# The cache's Redis has a maxmemory (redis_maxmemory, default 64mb). With solutions_instance => 1
# the solutions have a second, persistent instance (appendonly, noeviction), as ./arena up runs
# them, and the cache evicts any key; without, they share the cache's, which then evicts only
# keys with a TTL (verdicts, locks, buckets), never a solution. Each part stops and starts alone.
sub start_redis { $_[0]->stack('start', '--only', 'redis') }
sub stop_redis { $_[0]->stack('stop', '--only', 'redis') }
sub start_solutions_redis { $_[0]->stack('start', '--only', 'solutions') }
sub stop_solutions_redis { $_[0]->stack('stop', '--only', 'solutions') }

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

# nginx.conf rendered again (the app's cache_salt and trusted_proxies as its config file now
# has them), then SIGHUP to nginx. True when sent.
sub reload_nginx { $_[0]->stack('reload', '--only', 'nginx') }

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

# cmdarena-fcgi's master, from the pid file the launcher wrote.
sub fcgi_pid {
    my ($self) = @_;
    open(my $fh, '<', "$self->{dir}/run/fcgi.pid") or return undef;
    my ($pid) = (<$fh> // '') =~ /^(\d+)/;
    return $pid;
}

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
    $self->stack('stop');
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
    $self->run_launcher(1, 'stop');
}

1;
