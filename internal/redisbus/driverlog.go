package redisbus

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// driverLog sends go-redis's own messages (a failed dial, say) to slog at
// debug level: the Bus already reports losing and regaining Redis once.
type driverLog struct{ log *slog.Logger }

func (d driverLog) Printf(ctx context.Context, format string, v ...any) {
	d.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// RouteDriverLogs sends the Redis driver's log lines to log instead of
// standard error. The driver's logger is global: call this once, from main.
func RouteDriverLogs(log *slog.Logger) { redis.SetLogger(driverLog{log}) }
