//! The tx class (90): standard transactions.

method! {
    /// Puts the channel in transaction mode.
    TxSelect = (90, 10, "tx.select") {}
}

method! {
    /// Confirms tx.select.
    TxSelectOk = (90, 11, "tx.select-ok") {}
}

method! {
    /// Commits the current transaction.
    TxCommit = (90, 20, "tx.commit") {}
}

method! {
    /// Confirms tx.commit.
    TxCommitOk = (90, 21, "tx.commit-ok") {}
}

method! {
    /// Abandons the current transaction.
    TxRollback = (90, 30, "tx.rollback") {}
}

method! {
    /// Confirms tx.rollback.
    TxRollbackOk = (90, 31, "tx.rollback-ok") {}
}
