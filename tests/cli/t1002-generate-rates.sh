#!/bin/bash
# Realised fault rates follow the flags; malformed lines are really
# malformed and every other line is valid (field checks in awk).
. "$(dirname "$0")/../lib/test-lib.sh"

B=d/bronze/transactions/ingest_date=2025-09-20
T=d/truth/transactions/ingest_date=2025-09-20

test_expect_success 'generate one day with raised rates' '
	txnflow generate --data d --date 2025-09-20 --rows 20000 --seed 3 \
		--dup-rate 0.1 --version-rate 0.2 --late-rate 0.15 \
		--stale-rate 0.05 --malformed-rate 0.01 --refund-rate 0.03 >out &&
	test_path_is_file $T/lines.csv
'

# near GOT WANT TOLERANCE(relative)
near() {
	awk -v g="$1" -v w="$2" -v t="$3" "BEGIN {
		d = g - w; if (d < 0) d = -d
		if (d > w * t) { print \"got \" g \", want \" w \" within \" t * 100 \"%\"; exit 1 }
	}"
}

test_expect_success 'realised rates are within tolerance of the flags' '
	cut -d, -f4 $T/lines.csv | tail -n +2 | sort | uniq -c >counts &&
	cat counts &&
	n() { awk -v k="$1" "\$2 == k { print \$1 }" counts; } &&
	lines=$(tail -n +2 $T/lines.csv | wc -l) &&
	good=$((lines - $(n malformed))) &&
	near "$(n new)" 20000 0.02 &&
	near "$(n version)" $((20000 * 20 / 100 * 97 / 100)) 0.08 &&
	near "$(n stale_redelivery)" $((20000 * 5 / 100)) 0.15 &&
	near "$(n redelivery)" $((20000 * 10 / 100 * 119 / 100)) 0.1 &&
	near "$(n malformed)" $((good / 100)) 0.2 &&
	late=$(awk -F, "\$4 == \"new\" && substr(\$3, 2, 8) < \"20250920\"" $T/lines.csv | wc -l) &&
	near "$late" $((20000 * 15 / 100)) 0.1 &&
	refunds=$(awk -F, "\$10 == \"true\"" $B/part-00000.csv | wc -l) &&
	near "$refunds" $((20000 * 3 / 100)) 0.2
'

test_expect_success 'every defect type occurs' '
	awk -F, "\$4 == \"malformed\" { print \$5 }" $T/lines.csv | sort -u >defects &&
	printf "%s\n" bad_amount bad_timestamp empty_id invalid_utf8 stray_quote unknown_enum wrong_columns >expect &&
	test_cmp expect defects
'

test_expect_success 'malformed lines are invalid, all others valid' '
	LC_ALL=C awk -F, "
	function cal(t) { return substr(t, 6, 5) != \"02-30\" && substr(t, 12, 2) <= \"23\" }
	function check(   ts, why) {
		ts = \"^[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\\\.[0-9]+)?[+-][0-9][0-9]:[0-9][0-9]\$\"
		if (NF != 13) return \"columns\"
		if (\$0 ~ /\"/) return \"quote\"
		if (\$0 ~ /[\\200-\\377]/) return \"non-ascii\"
		if (\$1 == \"\" || \$2 == \"\" || \$3 == \"\" || \$4 == \"\") return \"empty id\"
		if (\$5 !~ ts || \$12 !~ ts) return \"timestamp\"
		if (!cal(\$5) || !cal(\$12)) return \"timestamp\"
		if (\$6 !~ /^[0-9]+(\\.[0-9][0-9]?)?\$/ || \$6 ~ /^[0.]+\$/) return \"amount\"
		if (\$7 !~ /^[A-Z][A-Z][A-Z]\$/ || \$8 !~ /^[0-9][0-9][0-9][0-9]\$/) return \"code\"
		if (\$9 !~ /^(approved|declined|pending|reversed)\$/) return \"status\"
		if (\$10 !~ /^(true|false)\$/ || \$11 !~ /^(online|pos|mobile)\$/) return \"enum\"
		return \"\"
	}
	NR == FNR { if (FNR > 1) kind[FNR-1] = \$4; next }
	FNR > 1 {
		why = check()
		if (kind[FNR-1] == \"malformed\" && why == \"\") { print \"valid but malformed: \" \$0; bad++ }
		if (kind[FNR-1] != \"malformed\" && why != \"\") { print why \": \" \$0; bad++ }
		n++
	}
	END { print n \" lines checked\"; exit (bad > 0) }" $T/lines.csv $B/part-00000.csv
'

test_expect_success 'ids of new lines are unique; other kinds name a known id' '
	awk -F, "\$4 == \"new\" { print \$3 }" $T/lines.csv | sort | uniq -d >dups &&
	test_line_count = 0 dups &&
	awk -F, "\$4 == \"malformed\" && \$3 != \"\" && \$3 !~ /^X20250920-/" $T/lines.csv >badmal &&
	test_line_count = 0 badmal
'

test_done
