#!/usr/bin/perl
# The alert rules and the dashboard of conf/prometheus/: promtool accepts the rules and their
# unit tests pass (each alert fires on a made-up series that should page), and every metric, and
# every label they group or filter by, is one a live stack's GET /metrics really exports.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $root = Cmdarena::Stack::root();
my $dir = "$root/conf/prometheus";

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# ---- promtool ----
my $out = `promtool check rules '$dir/cmdarena-alerts.yml' 2>&1`;
is($?, 0, 'promtool check rules accepts cmdarena-alerts.yml') or diag $out;
my ($n_rules) = $out =~ /SUCCESS: (\d+) rules found/;
ok(($n_rules // 0) >= 6, 'rules found: ' . ($n_rules // 0));
$out = `cd '$dir' && promtool test rules cmdarena-alerts.test.yml 2>&1`;
is($?, 0, 'promtool test rules: every alert fires where it should and not elsewhere') or diag $out;

my $rules = slurp("$dir/cmdarena-alerts.yml");
for my $alert (qw(CmdarenaEngineDown CmdarenaRedisDown CmdarenaPoolEmpty CmdarenaServerErrors
    CmdarenaVerdictLatencyHigh CmdarenaRateLimitSurge)) {
    like($rules, qr/^\s*- alert: \Q$alert\E$/m, "the rules have $alert");
}

# ---- the dashboard: Grafana JSON, every panel with a query ----
my $dash = eval { JSON::PP->new->decode(slurp("$dir/cmdarena-dashboard.json")) };
ok($dash, 'cmdarena-dashboard.json is JSON') or diag $@;
my @exprs;
for my $p (@{ $dash->{panels} // [] }) {
    my @t = map { $_->{expr} } @{ $p->{targets} // [] };
    ok(@t && !grep({ !defined || !length } @t), "panel '$p->{title}' has its queries");
    push @exprs, @t;
}
ok(@exprs >= 10, scalar(@exprs) . ' dashboard queries');
push @exprs, map { ref $_->{query} ? $_->{query}{query} : () } @{ $dash->{templating}{list} // [] };

# ---- a live /metrics, after an execution and a Redis hit ----
my $s = Cmdarena::Stack->new;
$s->r(slug => 'hello_world', ver => 1, cmd => 'echo observability');
$s->wipe_nginx_cache;
$s->r(slug => 'hello_world', ver => 1, cmd => 'echo observability');
my $text = $s->get('/metrics')->{content} // '';
my (%labels_of);
for (split /\n/, $text) {
    if (/^# TYPE (\w+) /) { $labels_of{$1} //= {}; next }
    my ($name, $labels) = /^(\w+)(?:\{([^}]*)\})? / or next;
    $labels_of{$name} //= {};
    $labels_of{$name}{$1} = 1 while ($labels // '') =~ /(\w+)="/g;
}
ok(scalar(keys %labels_of) >= 20, scalar(keys %labels_of) . ' metric names on /metrics');
ok($labels_of{cmdarena_execution_seconds_bucket}{le}, 'the execution histogram has its buckets');

# Every metric a rule, an annotation or a panel names, and the labels it uses (instance and job
# come from Prometheus's scrape).
my $outcomes = join '|', slurp("$root/fcgi/worker/metrics.c") =~ /outcome_names\[N_OUTCOMES\] = \{(.*?)\};/s;
my %known_outcome = map { $_ => 1 } $outcomes =~ /"(\w+)"/g;
my %checked;
for my $where (['alert rules', $rules], map { ['dashboard', $_] } @exprs) {
    my ($what, $e) = @$where;
    for my $m ($e =~ /\b(cmdarena_[a-z0-9_]+)/g) {
        next if $checked{"$what $m"}++;
        ok(exists $labels_of{$m}, "$what: $m is exported");
    }
    while ($e =~ /\b(cmdarena_[a-z0-9_]+)\{([^}]*)\}/g) {
        my ($m, $sel) = ($1, $2);
        while ($sel =~ /(\w+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"/g) {
            my ($l, $v) = ($1, $2);
            next if $l eq 'instance' || $l eq 'job';
            ok($labels_of{$m}{$l}, "$what: $m has label $l") unless $checked{"$what $m $l"}++;
            if ($l eq 'outcome') {
                ok($known_outcome{$_}, "$what: outcome '$_' is one the pool counts") for split /\|/, $v;
            }
        }
    }
    while ($e =~ /\bby \(([^)]*)\)\s*\((?:[^()]|\((?!\s*cmdarena))*?\(?\s*(cmdarena_[a-z0-9_]+)/g) {
        my ($ls, $m) = ($1, $2);
        for my $l (grep { $_ ne 'instance' && $_ ne 'job' } split /\s*,\s*/, $ls) {
            ok($labels_of{$m}{$l}, "$what: $m can be summed by $l") unless $checked{"$what $m by $l"}++;
        }
    }
}

$s->stop;
done_testing;
