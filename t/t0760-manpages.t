#!/usr/bin/perl
# The man pages render with man(1) without a warning, have the sections their kind needs, and
# say what the programs do: every option the programs accept, every setting config.c knows
# (with its default, as conf/cmdarena.conf shows it too), every field the catalogue loader reads.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use File::Temp qw(tempdir);
use Test::More;

my $root = Cmdarena::Stack::root();
my $build = Cmdarena::Stack::build_dir();
my %pages = (
    'fcgi/worker/cmdarena-fcgi.8' => [qw(NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS LOGGING FILES), 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'],
    'fcgi/check/cmdarena-check.1' => [qw(NAME SYNOPSIS DESCRIPTION OPTIONS), 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'],
    'conf/cmdarena.conf.5' => [qw(NAME DESCRIPTION FILES EXAMPLES), 'SEE ALSO'],
    'challenges/cmdarena-challenges.5' => [qw(NAME SYNOPSIS DESCRIPTION FIELDS JUDGING FILES EXAMPLES), 'SEE ALSO'],
);

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    local $/;
    return <$fh>;
}

my %text;
my $tmp = tempdir('cmdarena-man-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $page (sort keys %pages) {
    my ($name, $section) = $page =~ m{([^/]+)\.(\d)$};
    my $out = `MANWIDTH=100 man --warnings -l '$root/$page' 2>'$tmp/stderr.txt'`;
    is($?, 0, "man -l $page: exit status 0");
    my $err = slurp("$tmp/stderr.txt");
    is($err, '', "man -l $page: no warning") or diag $err;
    $out =~ s/.\x08//g;    # no overstrike, whatever the pager settings
    $text{$page} = $out;
    like($out, qr/^\U\Q$name\E\($section\)/, "$page: its header says \U$name\E($section)");
    my @headings = $out =~ /^([A-Z][A-Z ]+[A-Z])$/mg;
    for my $want (@{ $pages{$page} }) {
        ok((grep { $_ eq $want } @headings), "$page: has a $want section");
    }
    like($out, qr/^NAME\n\s+\Q$name\E \S+ \S/m, "$page: NAME gives the name and a one-line description");
    # Every cmdarena page it refers to exists.
    my %refs = map { $_ => 1 } $out =~ /\b(cmdarena[\w.-]*\(\d\))/g;
    for my $ref (sort keys %refs) {
        my ($n, $s) = $ref =~ /^(.*)\((\d)\)$/;
        ok((grep { m{/\Q$n\E\.$s$} } keys %pages), "$page refers to $ref, which exists");
    }
}

# ---- cmdarena-fcgi(8): its options ----
my $usage = `'$build/fcgi/cmdarena-fcgi' -h 2>&1`;
is($?, 0, 'cmdarena-fcgi -h: exit status 0');
my @fcgi_opts = $usage =~ /^\s+(-\w)\b/mg;
ok(@fcgi_opts >= 4, 'cmdarena-fcgi -h lists its options: ' . join(' ', @fcgi_opts));
my ($synopsis) = $text{'fcgi/worker/cmdarena-fcgi.8'} =~ /^SYNOPSIS\n(.*?)\n\n[A-Z]/ms;
for my $o (@fcgi_opts) {
    like($synopsis // '', qr/(?<![\w-])\Q$o\E\b/, "cmdarena-fcgi(8) SYNOPSIS has $o");
    ok($text{'fcgi/worker/cmdarena-fcgi.8'} =~ /^OPTIONS\n.*^\s+\Q$o\E\b/ms, "cmdarena-fcgi(8) OPTIONS explains $o");
}

# ---- cmdarena-check(1): its options ----
$usage = `'$build/fcgi/cmdarena-check' --help 2>&1`;
is($?, 0, 'cmdarena-check --help: exit status 0');
my %check_opts = map { $_ => 1 } $usage =~ /(--[a-z][a-z-]+)/g;
ok(keys %check_opts >= 8, 'cmdarena-check --help lists its options: ' . join(' ', sort keys %check_opts));
for my $o (sort keys %check_opts) {
    ok($text{'fcgi/check/cmdarena-check.1'} =~ /^\s+\Q$o\E\b/m, "cmdarena-check(1) explains $o");
}

# ---- cmdarena.conf(5): every setting, with the default config.c gives it ----
my $config_c = slurp("$root/fcgi/config/config.c");
my @keys = $config_c =~ /^\t\{ "(\w+)", T_\w+, [^,]+, ("[^"]*"|NULL), /mg;
my %default = @keys;
ok(keys %default >= 40, 'config.c has its table of settings: ' . scalar(keys %default));
my $conf5 = slurp("$root/conf/cmdarena.conf.5");
my $sample = slurp("$root/conf/cmdarena.conf");
for my $key (sort keys %default) {
    my ($item) = $conf5 =~ /^\.It Cm \Q$key\E\n(.*?)(?=^\.It |^\.El)/ms;
    ok(defined $item, "cmdarena.conf(5) has an item for $key") or next;
    next if $default{$key} eq 'NULL';
    (my $def = $default{$key}) =~ s/^"|"$//g;
    my $shown = $def eq '' ? 'empty' : $def;
    like($item, qr/^Default: \Q$shown\E(?:$| )/m, "cmdarena.conf(5): $key defaults to $shown");
    ok($sample =~ /^# \Q$key\E = \Q$def\E(?:\s|$)/m, "conf/cmdarena.conf shows $key = $def");
}

# ---- cmdarena-challenges(5): every field the loader reads ----
my $catalogue_c = slurp("$root/fcgi/config/catalogue.c");
# Its tables of fields (a challenge, expected_output, an item of processes); cmdchallenge's ignored ones aside.
my %fields = map { $_ => 1 } $catalogue_c =~ /^\t\{ "(\w+)", FT_(?!IGNORED)\w+/mg;
ok(keys %fields >= 20, 'catalogue.c reads its fields: ' . join(' ', sort keys %fields));
my $ch5 = slurp("$root/challenges/cmdarena-challenges.5");
for my $f (sort keys %fields) {
    ok($ch5 =~ /^\.It Cm \Q$f\E\b|^\.It Cm \w+ , Cm \Q$f\E\b/m, "cmdarena-challenges(5) has an item for $f");
}

done_testing;
