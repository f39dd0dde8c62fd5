#!/usr/bin/perl
# The SQL constructs Amazon Redshift documents as unsupported (or leaves
# out of its syntax), each with the page that says so, and a check of
# compiled SQL files against them (t3103-models-redshift.sh).
#
#   perl t3103-models-redshift.pl FILE...
#
# prints "FILE: WHAT (PAGE): TEXT" for each construct found and exits 1
# when there is one. Comments and string literals are left out before
# the search (a comment may say "FILTER (WHERE ...)", a literal may hold
# anything).
use strict;
use warnings;

my $DG = 'https://docs.aws.amazon.com/redshift/latest/dg';
my $FEATURES  = "$DG/c_unsupported-postgresql-features.html";
my $FUNCTIONS = "$DG/c_unsupported-postgresql-functions.html";
my $TYPES     = "$DG/c_unsupported-postgresql-datatypes.html";
my $WINDOW    = "$DG/r_Window_function_synopsis.html";

# [pattern (case-insensitive), what, page]
my @unsupported = (
    # Aggregates: COUNT/SUM/... take an expression, no FILTER clause
    [qr/\bFILTER\s*\(\s*WHERE\b/, 'aggregate FILTER (WHERE ...)',
     "$DG/r_COUNT.html, $DG/r_SUM.html"],
    # Window frames: "frame_clause is ROWS ..." (no RANGE, no GROUPS)
    [qr/\b(?:RANGE|GROUPS)\s+(?:BETWEEN|UNBOUNDED|CURRENT|\d|INTERVAL)/,
     'a RANGE/GROUPS window frame', $WINDOW],
    [qr/\b(?:EXCLUDE\s+(?:CURRENT\s+ROW|GROUP|TIES|NO\s+OTHERS))\b/,
     'a frame EXCLUDE clause', $WINDOW],
    # Unsupported PostgreSQL functions
    [qr/\bIS\s+(?:NOT\s+)?DISTINCT\s+FROM\b/, 'IS DISTINCT FROM', $FUNCTIONS],
    [qr/\b(?:STRING_AGG|ARRAY_AGG|EVERY|XML_AGG|XMLAGG|CORR|COVAR_POP|COVAR_SAMP
           |REGR_(?:AVGX|AVGY|COUNT|INTERCEPT|R2|SLOPE|SXX|SXY|SYY))\s*\(/x,
     'an unsupported aggregate function', $FUNCTIONS],
    [qr/\b(?:CLOCK_TIMESTAMP|JUSTIFY_DAYS|JUSTIFY_HOURS|JUSTIFY_INTERVAL
           |PG_SLEEP|TRANSACTION_TIMESTAMP)\s*\(/x,
     'an unsupported date/time function', $FUNCTIONS],
    [qr/\b(?:DIV|SETSEED|WIDTH_BUCKET|GENERATE_SERIES|GENERATE_SUBSCRIPTS)\s*\(/,
     'an unsupported math or set-returning function', $FUNCTIONS],
    [qr/\b(?:BIT_LENGTH|OVERLAY|CONVERT_FROM|CONVERT_TO|ENCODE|FORMAT
           |QUOTE_NULLABLE|REGEXP_MATCHES|REGEXP_SPLIT_TO_ARRAY
           |REGEXP_SPLIT_TO_TABLE)\s*\(/x,
     'an unsupported string function', $FUNCTIONS],
    [qr/\bNEXTVAL\s*\(|\bCURRVAL\s*\(|\bSETVAL\s*\(/,
     'a sequence manipulation function', $FUNCTIONS],
    # Unsupported PostgreSQL data types
    [qr/\b(?:BYTEA|JSONB?|UUID|HSTORE|MONEY|SMALLSERIAL|BIGSERIAL|SERIAL|XML
           |TXID_SNAPSHOT|INET|CIDR|MACADDR|TSVECTOR|TSQUERY
           |INT4RANGE|INT8RANGE|NUMRANGE|TSRANGE|TSTZRANGE|DATERANGE)\b/x,
     'an unsupported data type', $TYPES],
    [qr/\bBIT\s+VARYING\b|\bVARBIT\b/, 'BIT VARYING', $TYPES],
    [qr/\w\s*\[\s*\d*\s*\]/, 'an array type or subscript',
     "$TYPES, $FEATURES"],
    # Unsupported PostgreSQL features
    [qr/\bARRAY\s*[\[(]/, 'an array constructor', $FEATURES],
    [qr/\bROW\s*\(/, 'a row constructor', $FEATURES],
    [qr/\(\s*VALUES\b|\bFROM\s+VALUES\b/, 'VALUES used as a constant table',
     $FEATURES],
    [qr/\bCREATE\s+(?:UNIQUE\s+)?INDEX\b/, 'an index', $FEATURES],
    [qr/\bCOLLATE\b/, 'a collation', $FEATURES],
    [qr/\bINHERITS\b|\bTABLESPACE\b|\bPARTITION\s+OF\b/,
     'inheritance, tablespaces or table partitioning', $FEATURES],
    [qr/\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TRIGGER|RULE|SEQUENCE)\b/,
     'a trigger, rule or sequence', $FEATURES],
    [qr/\bIGNORE\s+NULLS\b|\bRESPECT\s+NULLS\b/,
     'a NULLS clause in a window function', $FEATURES],
    # Not in Redshift's SQL at all: DuckDB's forms, which a dialect macro
    # must never let through to a Redshift target
    [qr/\b(?:MAKE_DATE|MAKE_TIMESTAMP|DATE_DIFF|TO_DAYS|EPOCH_US|READ_PARQUET
           |STRUCT_PACK|LIST_VALUE)\s*\(/x,
     'a DuckDB function', "$DG/c_SQL_functions.html"],
    [qr/\bINTERVAL\s+\d/, 'an unquoted interval (INTERVAL n MINUTE)',
     "$DG/r_interval_literals.html, $DG/r_interval_data_types.html"],
);

# Aggregate functions used as window functions with ORDER BY need a frame
# clause ("for aggregate functions with ORDER BY, a frame clause is
# required"): checked on each OVER (...).
my $AGG = qr/\b(?:SUM|COUNT|AVG|MIN|MAX|MEDIAN|STDDEV\w*|VAR_\w+|VARIANCE
              |LISTAGG|FIRST_VALUE|LAST_VALUE|NTH_VALUE)\s*/xi;
my $PARENS;
$PARENS = qr/\((?:[^()]++|(??{$PARENS}))*\)/;

sub strip {
    my ($sql) = @_;
    $sql =~ s{/\*.*?\*/}{ }gs;
    $sql =~ s{'(?:[^']|'')*'}{''}g;
    $sql =~ s{--[^\n]*}{}g;
    return $sql;
}

my $found = 0;
for my $file (@ARGV) {
    open(my $fh, '<', $file) or die "$file: $!\n";
    local $/;
    my $sql = strip(<$fh>);
    close $fh;
    for my $u (@unsupported) {
        my ($re, $what, $page) = @$u;
        while ($sql =~ /($re)/gi) {
            print "$file: $what ($page): $1\n";
            $found++;
        }
    }
    while ($sql =~ /($AGG$PARENS\s*(?:FILTER\s*$PARENS\s*)?OVER\s*($PARENS))/gi) {
        my ($call, $over) = ($1, $2);
        next unless $over =~ /\bORDER\s+BY\b/i && $over !~ /\bROWS\b/i;
        $call =~ s/\s+/ /g;
        print "$file: an aggregate window function with ORDER BY and no "
            . "ROWS frame ($WINDOW): $call\n";
        $found++;
    }
}
exit($found ? 1 : 0);
