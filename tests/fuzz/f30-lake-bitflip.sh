#!/bin/sh
# Flip random bits in the files a clean reads (index shards, the silver
# partitions the batch touches, the lake's manifest) and clean, under
# ASan/UBSan. Every clean must either refuse with a message and leave the
# lake as it was, or succeed with a lake that `txnflow audit` accepts.
#
#   tests/fuzz/f30-lake-bitflip.sh short   24 trials, ~45 s (make test, via t1105)
#   tests/fuzz/f30-lake-bitflip.sh long    600 trials, ~18 min, or FUZZ_TRIALS
#                                          (make fuzz, make fuzz-lake)
#
# Two kinds of trial, alternating:
#   at rest   bits flip in a file after its commit: the manifest's SHA-256
#             must catch it;
#   blessed   a partition's bits flip and the manifest is made to agree (as
#             if the damage had happened before the checksum was taken): the
#             page CRCs and the reader's checks must catch it, or the clean
#             must produce a lake audit accepts.
# FUZZ_SEED picks the flips (default 1), FUZZ_OUT the scratch directory
# (default build/fuzz). A failing trial's lake stays in
# build/fuzz/lake-fail-N with what happened in its log.
set -eu
cd "$(dirname "$0")/../.."
mode=${1:-short}
case "$mode" in
  short) trials=${FUZZ_TRIALS:-24} ;;
  long) trials=${FUZZ_TRIALS:-600} ;;
  *) echo "usage: $0 short|long" >&2; exit 2 ;;
esac
bin=${TXNFLOW:-$PWD/build/asan/txnflow}
[ -x "$bin" ] || { echo "$bin: build it first (make asan)" >&2; exit 2; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=134:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=134}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export TZ=UTC LC_ALL=C NO_COLOR=1
out=${FUZZ_OUT:-$PWD/build/fuzz}
base=$out/lake-base
work=$out/lake-trial
mkdir -p "$out"
rm -rf "$base" "$work" "$out"/lake-fail-*

# The lake: two days cleaned, a third day's batch waiting.
"$bin" generate --data "$base" --date 2025-09-01 --days 3 --rows 1500 \
  --seed 11 >/dev/null
"$bin" clean --data "$base" --date 2025-09-01 >/dev/null
"$bin" clean --data "$base" --date 2025-09-02 >/dev/null
# What the third day's clean reads: every shard (a batch of 1,500 ids
# touches all 256), the partitions it rewrites that exist, the manifest.
cp -a "$base" "$work"
"$bin" clean --data "$work" --date 2025-09-03 --json >"$out/ref.json"
"$bin" audit --data "$work" >/dev/null
targets=$out/targets
(cd "$base" && {
  ls silver/_index/transactions/shard-*.idx
  echo silver/_index/transactions/_manifest.json
  python3 -c '
import json, sys
rep = json.load(open(sys.argv[1]))
for d in rep["partitions_rewritten"]:
    y, m, dd = d.split("-")
    print("silver/transactions/year=%s/month=%s/day=%s/part-00000.parquet" % (y, m, dd))
' "$out/ref.json" | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done
}) >"$targets"
n_parts=$(grep -c 'part-00000.parquet' "$targets" || true)
[ "$n_parts" -gt 0 ] || { echo "no partition to flip" >&2; exit 1; }

# flip TRIAL FILE BLESS: flip 1-3 bits of FILE (relative to $work) chosen by
# the trial's seed; BLESS=1 makes the manifest agree with the result.
flip() {
  python3 - "$work" "$2" "$1" "${FUZZ_SEED:-1}" "$3" <<'EOF'
import hashlib, json, os, random, sys
root, rel, trial, seed, bless = sys.argv[1:6]
rng = random.Random(int(seed) * 1000003 + int(trial))
p = os.path.join(root, rel)
b = bytearray(open(p, "rb").read())
for _ in range(rng.randint(1, 3)):
    at = rng.randrange(len(b))
    b[at] ^= 1 << rng.randrange(8)
    print("flip byte %d of %d" % (at, len(b)))
open(p, "wb").write(b)
if bless == "1":
    mp = os.path.join(root, "silver/_index/transactions/_manifest.json")
    m = json.load(open(mp))
    for day, e in m["partitions"].items():
        if rel.endswith(e["path"]):
            e["sha256"] = hashlib.sha256(b).hexdigest()
            e["size_bytes"] = len(b)
    with open(mp, "w") as f:
        json.dump(m, f, indent=1, sort_keys=True)
        f.write("\n")
EOF
}

sums() { (cd "$1" && find silver quarantine -type f | sort | xargs sha256sum); }

refused=0 accepted=0 untouched=0 failed=0 blessed=0 by_crc=0 by_sha=0 by_other=0
: >"$out/other.txt"
n_targets=$(wc -l <"$targets")
t=${FUZZ_FIRST:-1} # FUZZ_FIRST: rerun from a failing trial
while [ $t -le "$trials" ]; do
  rm -rf "$work"
  cp -a "$base" "$work"
  bless=0
  if [ $((t % 2)) = 0 ]; then
    bless=1
    file=$(grep 'part-00000.parquet' "$targets" |
      sed -n "$(( (t / 2) % n_parts + 1 ))p")
  else
    file=$(sed -n "$(( (t * 7919) % n_targets + 1 ))p" "$targets")
  fi
  log=$out/trial.log
  { echo "trial $t: $file (blessed: $bless)"; flip "$t" "$file" "$bless"; } >"$log"
  sums "$work" >"$out/before.sums"
  rc=0
  "$bin" clean --data "$work" --date 2025-09-03 >>"$log" 2>"$out/err" || rc=$?
  cat "$out/err" >>"$log"
  verdict=
  if [ $rc = 4 ] && grep -q '^txnflow clean: error: ' "$out/err"; then
    # refused: with a message, and the lake as it was
    sums "$work" >"$out/after.sums"
    if ! cmp -s "$out/before.sums" "$out/after.sums"; then
      verdict="refused but changed the lake"
    elif ! grep -q 'nothing was changed; .*\(restore\|rebuild\)' "$out/err"; then
      verdict="refused without saying how to recover"
    else
      verdict=refused
    fi
  elif [ $rc = 0 ]; then
    arc=0
    "$bin" audit --data "$work" >>"$log" 2>&1 || arc=$?
    if [ $arc = 0 ]; then
      verdict=accepted
    elif grep -q " $file\$" "$out/before.sums" &&
      [ "$(grep " $file\$" "$out/before.sums")" = \
        "$(cd "$work" && sha256sum "$file")" ]; then
      # The clean did not read the file (an index shard none of the
      # batch's ids fall in: reading it would have checked it): audit
      # must name it, and with its committed bytes back the lake must be
      # what the clean should have made.
      arc=0
      cp "$base/$file" "$work/$file"
      "$bin" audit --data "$work" >>"$log" 2>&1 || arc=$?
      if grep -q "$file.* damaged\|$(basename "$file").* damaged" "$log" && [ $arc = 0 ]; then
        verdict=untouched
      else
        verdict="audit failed on an unread file ($arc)"
      fi
    else
      verdict="audit failed ($arc)"
    fi
  else
    verdict="clean exited $rc"
  fi
  case "$verdict" in
    refused)
      refused=$((refused + 1))
      if grep -q 'fails its checksum' "$out/err"; then by_crc=$((by_crc + 1))
      elif grep -q 'commit recorded\|the manifest says\|manifest.json' "$out/err"; then
        by_sha=$((by_sha + 1))
      else by_other=$((by_other + 1)); echo "trial $t: $(cat "$out/err")" >>"$out/other.txt"; fi
      ;;
    accepted) accepted=$((accepted + 1)) ;;
    untouched) untouched=$((untouched + 1)) ;;
    *)
      failed=$((failed + 1))
      echo "FAIL trial $t: $verdict"
      sed 's/^/  /' "$log" | head -20
      cp -a "$work" "$out/lake-fail-$t"
      cp "$log" "$out/lake-fail-$t.log"
      ;;
  esac
  blessed=$((blessed + bless))
  t=$((t + 1))
done
rm -rf "$work"
echo "bit flips: $((refused + accepted + untouched + failed)) trials ($blessed with the manifest made to agree):" \
  "$refused refused with a message, lake unchanged; $accepted cleaned," \
  "audit ok; $untouched not read by the clean (audit names the file, ok" \
  "with its bytes back); $failed failed"
echo "refusals: $by_sha by the manifest's SHA-256, $by_crc by a page CRC," \
  "$by_other by other checks ($out/other.txt)"
[ $failed = 0 ]
