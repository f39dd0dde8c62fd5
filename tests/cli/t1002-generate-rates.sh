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

test_expect_success 'ids of new lines are unique; malformed ids are X ids of the batch' '
	awk -F, "\$4 == \"new\" { print \$3 }" $T/lines.csv | sort | uniq -d >dups &&
	test_line_count = 0 dups &&
	awk -F, "\$4 == \"malformed\" && \$3 != \"\" && \$3 !~ /^X20250920-/" $T/lines.csv >badmal &&
	test_line_count = 0 badmal
'

# A history of DAYS batches, every data line as "batch,kind,<13 fields>"
# in delivery order (malformed lines left out).
DAYS=24
test_expect_success 'generate a history of 24 days' '
	txnflow generate --data h --date 2025-09-01 --days $DAYS --rows 400 \
		--seed 11 --dup-rate 0.05 --version-rate 0.1 --stale-rate 0.03 \
		--late-rate 0.1 --refund-rate 0.1 >/dev/null &&
	for b in $(ls h/bronze/transactions); do
		d=${b#ingest_date=} &&
		tail -n +2 h/truth/transactions/$b/lines.csv | cut -d, -f4 >kinds &&
		tail -n +2 h/bronze/transactions/$b/part-00000.csv >lines &&
		test "$(wc -l <kinds)" = "$(wc -l <lines)" &&
		paste -d, kinds lines | grep -v "^malformed," | sed "s/^/$d,/" >>hist.csv || return 1
	done &&
	test "$(cut -d, -f1 hist.csv | sort -u | wc -l)" = $DAYS
'

# Deliveries trail their event day by at most 11 days, so from the 12th
# batch on every version / re-delivery refers to a transaction delivered
# inside the generated window. A refund (its own event up to 6 days late)
# refers to a purchase 1..14 days before its event day, delivered before
# that day: from the 21st batch on, the purchase is inside the window too.
test_expect_success 'every version/redelivery/stale line names an id delivered as new in an earlier or the same batch; every refund an approved purchase delivered earlier, not smaller' '
	ref_from=$(date -u -d "2025-09-01 + 11 days" +%F) &&
	refund_from=$(date -u -d "2025-09-01 + 20 days" +%F) &&
	awk -F, -v ref_from=$ref_from -v refund_from=$refund_from "
	NR == FNR {
		if (\$2 == \"new\") {
			if (\$3 in nb) { print \"new twice: \" \$3; bad++ }
			nb[\$3] = \$1; st[\$3] = \$11; rf[\$3] = \$12
			card[\$3] = \$5; cur[\$3] = \$9; amt[\$3] = \$8
		}
		if (\$2 == \"version\") versioned[\$3] = 1
		next
	}
	\$2 != \"new\" && \$1 >= ref_from {
		n[\$2]++
		if (!(\$3 in nb)) { print \$2 \" of an id never delivered as new: \" \$0; bad++ }
		else if (nb[\$3] > \$1) { print \$2 \" before its new line (\" nb[\$3] \"): \" \$0; bad++ }
	}
	\$2 == \"new\" && \$12 == \"true\" && \$1 >= refund_from {
		n[\"refund\"]++
		o = \$15
		ev = substr(\$3, 2, 4) \"-\" substr(\$3, 6, 2) \"-\" substr(\$3, 8, 2)
		if (o == \"\" || !(o in nb)) { print \"refund of an unknown purchase: \" \$0; bad++; next }
		if (nb[o] >= ev) { print \"purchase \" o \" delivered \" nb[o] \", not before the refund event \" ev; bad++ }
		if (st[o] != \"approved\" || rf[o] != \"false\" || (o in versioned)) { print \"purchase \" o \" is not a plain approved purchase: \" st[o] \" \" rf[o]; bad++ }
		if (card[o] != \$5 || cur[o] != \$9) { print \"refund on another card or currency: \" \$0; bad++ }
		if (amt[o] + 0 < \$8 + 0) { print \"refund \" \$8 \" above purchase \" amt[o] \": \" \$0; bad++ }
	}
	END {
		for (k in n) print k, n[k]
		if (n[\"version\"] < 50 || n[\"redelivery\"] < 50 || n[\"stale_redelivery\"] < 20 || n[\"refund\"] < 50) { print \"too few lines checked\"; bad++ }
		exit (bad > 0)
	}" hist.csv hist.csv
'

test_done
