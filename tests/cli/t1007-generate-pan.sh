#!/bin/bash
# generate --pan (feed.pan): a card_number column, each card's own Luhn-
# valid 16-digit number from test BIN ranges, some grouped with spaces or
# dashes, and malformed ones (a wrong check digit, 15 digits) that the
# truth names bad_card_number. Checked with an independent Luhn in awk.
. "$(dirname "$0")/../lib/test-lib.sh"

# luhn.awk: for each record of a bronze CSV (header skipped), the card_id,
# the card number with its separators removed, and whether it passes Luhn
cat >luhn.awk <<'EOT'
BEGIN { FS = ","; OFS = "," }
FNR == 1 { next }
NF == 14 {
	n = $14; gsub(/[ -]/, "", n)
	sum = 0
	for (i = length(n); i >= 1; i--) {
		d = substr(n, i, 1) + 0
		if ((length(n) - i) % 2 == 1) { d *= 2; if (d > 9) d -= 9 }
		sum += d
	}
	print $1, $3, n, (sum % 10 == 0 ? "valid" : "invalid"), ($14 ~ / / ? "spaces" : $14 ~ /-/ ? "dashes" : "plain")
}
EOT

test_expect_success 'generate --pan writes card_number, and says so in the manifest' '
	txnflow generate --data d --date 2025-09-01 --days 2 --rows 3000 \
		--malformed-rate 0.02 --pan &&
	for day in 01 02; do
		b=d/bronze/transactions/ingest_date=2025-09-$day &&
		head -1 $b/part-00000.csv >hdr &&
		test_grep ",original_transaction_id,card_number$" hdr &&
		test_grep "\"pan\": true" $b/_manifest.json || return 1
	done
'

test_expect_success 'every good line: 16 digits, Luhn-valid, a test BIN' '
	awk -f luhn.awk d/bronze/transactions/ingest_date=*/part-*.csv >cards &&
	grep "^T" cards >good &&
	test_line_count -gt 5000 good &&
	! awk -F, "\$4 != \"valid\" || length(\$3) != 16" good | grep . &&
	! awk -F, "{ print substr(\$3, 1, 6) }" good | sort -u |
		grep -v -x -e 411111 -e 424242 -e 401288 -e 555555 -e 222300 -e 601111
'

test_expect_success 'one number per card, one card per number, across days' '
	awk -F, "{ print \$2, \$3 }" good | sort -u >pairs &&
	test_line_count -gt 3000 pairs &&
	test $(awk "{ print \$1 }" pairs | sort -u | wc -l) = $(wc -l <pairs) &&
	test $(awk "{ print \$2 }" pairs | sort -u | wc -l) = $(wc -l <pairs)
'

test_expect_success 'some written with spaces, some with dashes (about 1 in 20 each)' '
	n=$(wc -l <good) &&
	sp=$(grep -c ",spaces$" good) && da=$(grep -c ",dashes$" good) &&
	test $((sp * 40)) -gt $n && test $((sp * 10)) -lt $n &&
	test $((da * 40)) -gt $n && test $((da * 10)) -lt $n &&
	grep -q ",[0-9]\{4\} [0-9]\{4\} [0-9]\{4\} [0-9]\{4\}$" \
		d/bronze/transactions/ingest_date=2025-09-01/part-00000.csv &&
	grep -q ",[0-9]\{4\}-[0-9]\{4\}-[0-9]\{4\}-[0-9]\{4\}$" \
		d/bronze/transactions/ingest_date=2025-09-01/part-00000.csv
'

test_expect_success 'bad_card_number lines: a wrong check digit or 15 digits' '
	cat d/truth/transactions/ingest_date=*/lines.csv |
		awk -F, "\$5 == \"bad_card_number\" { print \$3 }" | sort >bad_ids &&
	test_line_count -gt 3 bad_ids &&
	awk -F, "\$1 != \"\" { print \$1, \$3, \$4 }" cards | sort >by_id &&
	join bad_ids by_id >bad &&
	test $(wc -l <bad) = $(wc -l <bad_ids) &&
	! awk "length(\$2) == 16 && \$3 == \"valid\"" bad | grep . &&
	awk "length(\$2) == 15" bad | grep -q . &&
	awk "length(\$2) == 16" bad | grep -q .
'

test_expect_success 'feed.pan in txnflow.yml turns it on; same bytes as --pan' '
	txnflow init p &&
	sed -i "s/^  rows: 5000 .*/  rows: 3000\n  pan: true/" p/txnflow.yml &&
	test_grep "^  pan: true" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --malformed-rate 0.02 &&
	cmp p/data/bronze/transactions/ingest_date=2025-09-01/part-00000.csv \
		d/bronze/transactions/ingest_date=2025-09-01/part-00000.csv
'

test_expect_success 'without pan nothing changes: no column, no card numbers' '
	txnflow generate --data n --date 2025-09-01 --rows 3000 &&
	head -1 n/bronze/transactions/ingest_date=2025-09-01/part-00000.csv >hdr &&
	test_grep ",original_transaction_id$" hdr &&
	! grep -q pan n/bronze/transactions/ingest_date=2025-09-01/_manifest.json &&
	txnflow scan-pans --include-bronze n >out &&
	test_grep "^scan-pans: 0 card numbers" out
'

test_done
