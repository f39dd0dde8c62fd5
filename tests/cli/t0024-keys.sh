#!/bin/bash
# txnflow keys id: the card-number key loaded as clean loads it; a key file
# others may read is refused (exit 4: fix the configuration, a retry will
# not help); the id is HMAC-SHA256(key, "txnflow pan key
# id") cut to 16 hex digits (checked with openssl), never the key.
. "$(dirname "$0")/../lib/test-lib.sh"

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE

test_expect_success 'a key file only its owner can read gives its id' '
	printf "0123456789abcdef0123456789abcdef\n" >key &&
	chmod 600 key &&
	TXNFLOW_PAN_KEY_FILE=$PWD/key txnflow keys id >out &&
	want=$(printf "txnflow pan key id" |
		openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef |
		sed "s/.*= //" | cut -c1-16) &&
	echo "k$want" >expect &&
	test_cmp expect out &&
	TXNFLOW_PAN_KEY=0123456789abcdef0123456789abcdef txnflow keys id >out2 &&
	test_cmp expect out2
'

test_expect_success 'a key file others may read is refused, naming its mode' '
	for mode in 644 640 604 660; do
		chmod $mode key &&
		TXNFLOW_PAN_KEY_FILE=$PWD/key test_expect_code 4 txnflow keys id >out 2>err &&
		test_grep "mode 0$mode" err && test_grep "chmod 600" err &&
		! grep -q 0123456789abcdef err && ! test -s out || return 1
	done
'

test_expect_success 'no key, both keys, a short key: errors' '
	test_expect_code 4 txnflow keys id 2>err &&
	test_grep "no card-number key" err &&
	chmod 600 key &&
	TXNFLOW_PAN_KEY_FILE=$PWD/key TXNFLOW_PAN_KEY=x test_expect_code 4 txnflow keys id 2>err &&
	test_grep "unset one" err &&
	TXNFLOW_PAN_KEY=short test_expect_code 4 txnflow keys id 2>err &&
	test_grep "16 to 4096 bytes" err &&
	test_expect_code 2 txnflow keys rotte
'

test_done
