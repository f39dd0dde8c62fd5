# The default project's marts, recomputed from the generator's truth — not
# from silver and not by the models' SQL — for t3100-models-marts.sh.
#
#   awk -f t3100-models-marts.awk FX_RATES.csv \
#       [ingest_date=D/lines.csv ingest_date=D/part-*.csv]...
#
# A data line counts when the truth says it is not malformed; per
# transaction_id the line with the greatest ingested_at is the final state
# (versions of one id have distinct ingested_at; equal ones are byte-equal
# re-deliveries, docs/feed.md). Prints one line per final *approved*
# transaction:
#   event_date customer_id mcc channel is_refund signed_won
# event_date is txn_ts's own local date (the feed writes local time with the
# pipeline zone's offset); won = sign x round-half-up(amount x rate), in
# integers: cents x rate in 1e-4 won, rounded at 1e6.
BEGIN { FS = "," }

# "1385.2000" -> 13852000 (units of 1e-4); "12.3" -> 1230 (cents)
function fixed(s, digits,    i, ip, fp) {
	i = index(s, ".")
	if (i == 0) { ip = s; fp = "" } else { ip = substr(s, 1, i - 1); fp = substr(s, i + 1) }
	while (length(fp) < digits) fp = fp "0"
	return ip * (10 ^ digits) + fp
}
function batch_of(path,    i) {   # ".../ingest_date=D/file" -> "ingest_date=D"
	i = match(path, /ingest_date=[0-9-]+/)
	return substr(path, RSTART, RLENGTH)
}
function base(path,    n, parts) { n = split(path, parts, "/"); return parts[n] }

FILENAME == ARGV[1] {
	if (FNR > 1) rate[$1] = fixed($2, 4)
	next
}
base(FILENAME) == "lines.csv" {
	if (FNR > 1 && $4 == "malformed") bad[batch_of(FILENAME) "/" $1 ":" $2] = 1
	next
}
FNR == 1 { next }   # a data file's header
{
	if ((batch_of(FILENAME) "/" base(FILENAME) ":" (FNR - 1)) in bad) next
	id = $1
	if (!(id in best) || $12 > best_at[id]) { best[id] = $0; best_at[id] = $12 }
}
END {
	for (id in best) {
		split(best[id], f, ",")
		if (f[9] != "approved") continue
		if (!(f[7] in rate)) { print "no fx rate for " f[7] > "/dev/stderr"; exit 1 }
		v = fixed(f[6], 2) * rate[f[7]]            # exact: < 2^53
		r = v % 1000000
		won = (v - r) / 1000000 + (r >= 500000 ? 1 : 0)
		if (f[10] == "true") won = -won
		printf "%s %s %s %s %s %.0f\n", substr(f[5], 1, 10), f[2], f[8], f[11], f[10], won
	}
}
