package Cmdarena::Load;

# Clients that keep sending requests while a test does something to the stack (reload it, stop
# an engine), each in a process of its own, each writing one line per request to a file:
# "start end status layer what", times in seconds since the epoch, `what` the verdict
# (correct/incorrect) or the error code.
#
#   my $load = Cmdarena::Load->start(clients => 3, count => 0,   # 0: until stop()
#       url => sub { my ($client, $i) = @_; $s->url(slug => ..., cmd => "echo $client $i") });
#   ...; $load->stop;
#   for my $r ($load->results) { my ($t0, $t1, $status, $layer, $what) = @$r; ... }

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

sub start {
    my ($class, %opt) = @_;
    my $self = bless { dir => tempdir('cmdarena-load-XXXXXX', TMPDIR => 1, CLEANUP => 1), pids => [] }, $class;
    my $json = JSON::PP->new->utf8;
    for my $c (1 .. $opt{clients} // 1) {
        my $pid = fork // croak "fork: $!";
        if ($pid == 0) {
            my $stop = 0;
            $SIG{TERM} = sub { $stop = 1 };
            my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
            open(my $out, '>', "$self->{dir}/client-$c.txt") or POSIX::_exit(1);
            $out->autoflush(1);
            for (my $i = 1; !$stop && (!$opt{count} || $i <= $opt{count}); $i++) {
                my $t0 = time;
                my $res = $http->get($opt{url}->($c, $i));
                my $body = eval { $json->decode($res->{content}) } // {};
                my $what = exists $body->{correct} ? ($body->{correct} ? 'correct' : 'incorrect')
                    : $body->{code} // 'no-json';
                printf $out "%.3f %.3f %d %s %s\n", $t0, time, $res->{status}, $res->{headers}{'x-cmdarena-layer'} // '-',
                    $what;
                sleep $opt{pause} if $opt{pause};
            }
            # Never the parent's END blocks or destructors (its stack, its test counts).
            POSIX::_exit(0);
        }
        push @{ $self->{pids} }, $pid;
    }
    return $self;
}

# Wait for clients with a count to finish.
sub finish {
    my ($self) = @_;
    waitpid($_, 0) for @{ $self->{pids} };
    $self->{pids} = [];
}

sub stop {
    my ($self) = @_;
    kill 'TERM', @{ $self->{pids} };
    $self->finish;
}

# [start, end, status, layer, what] for every request so far.
sub results {
    my ($self) = @_;
    my @r;
    for my $f (glob "$self->{dir}/client-*.txt") {
        open(my $fh, '<', $f) or next;
        push @r, map { chomp; [split / /] } <$fh>;
    }
    return @r;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    $self->stop if @{ $self->{pids} // [] };
}

1;
