package load

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// maxSessionRenewals bounds how often one statement is sent again on
// another connection after its session was found gone: each time, the dead
// connection leaves the pool, so after the pool's idle connections (two by
// default) the next one logs in afresh.
const maxSessionRenewals = 4

// stmt runs fn, which sends one statement and reads its answer, on a
// connection of its own when the Loader's DB is a *sql.DB (not a type that
// wraps one: its methods are the ones to call). When the
// statement fails because its session is gone for good (390114 token
// expired, 390111 session gone, 390115 master token expired, or a 390112
// the driver could not renew), that connection is discarded from the pool
// (gosnowflake's connections do not tell the pool themselves, so the pool
// would hand the dead session out again) and fn runs again on another
// connection, a fresh login once the idle ones are spent: the server ran
// nothing of a statement it refused for its session. With a *sql.Conn as
// DB, such a failure ends the Conn (the pool discards its connection; later
// statements fail with sql.ErrConnDone); with a *sql.Tx nothing can be done
// but return the error.
func (l *Loader) stmt(ctx context.Context, fn func(DB) error) error {
	if c := pinned(ctx); c != nil {
		// The load's session holds a temporary stage: no other will do.
		err := fn(c)
		if sessionGone(err) {
			discard(c)
		}
		return err
	}
	p, ok := l.db.(*sql.DB)
	if !ok {
		err := fn(l.db)
		if c, ok := l.db.(*sql.Conn); ok && sessionGone(err) {
			discard(c)
		}
		return err
	}
	for renewals := 0; ; renewals++ {
		c, err := p.Conn(ctx)
		if err != nil {
			return err
		}
		err = fn(c)
		if !sessionGone(err) {
			_ = c.Close()
			return err
		}
		discard(c)
		l.event(Event{Step: StepSession})
		if renewals == maxSessionRenewals || ctx.Err() != nil {
			return err
		}
	}
}

// pinKey is the context key of the one connection a Load runs on.
type pinKey struct{}

// pin returns ctx with the connection every statement of a load must run on
// (see Stage.Temporary), and a func that returns it to the pool; ctx and a
// no-op when the load needs no such connection or has one already.
func (l *Loader) pin(ctx context.Context) (context.Context, func(), error) {
	p, ok := l.db.(*sql.DB)
	if !ok || !l.o.Stage.Temporary || pinned(ctx) != nil {
		return ctx, func() {}, nil
	}
	c, err := p.Conn(ctx)
	if err != nil {
		return ctx, nil, fmt.Errorf("%w: a connection for the temporary stage: %w", ErrStatement, err)
	}
	return context.WithValue(ctx, pinKey{}, c), func() { _ = c.Close() }, nil
}

// pinned returns the connection pin put in ctx, or nil.
func pinned(ctx context.Context) *sql.Conn {
	c, _ := ctx.Value(pinKey{}).(*sql.Conn)
	return c
}

// discard makes the pool close c's driver connection instead of keeping it.
func discard(c *sql.Conn) {
	// A Raw callback that returns driver.ErrBadConn makes database/sql
	// close the Conn and drop its driver connection.
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// sessionGone reports whether err means the session that ran the statement
// cannot be used again.
func sessionGone(err error) bool {
	return err != nil && ErrorClassifier{}.SessionExpired(err)
}
