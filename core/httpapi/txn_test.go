package httpapi

import "shopedge/store"

type storeTxn = store.Txn
