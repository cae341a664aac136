// Command wsbare is the reference WebSocket client of `make perf`: a bare
// coder/websocket closed loop per user (send one chat, read five messages),
// with no checks, no histograms and no open-model scheduling. It prints
// "chats N seconds S chats_per_sec R".
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "", "ws://host:port/api/demo/ws")
	users := flag.Int("users", 100, "connections, one closed loop each")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	flag.Parse()
	ctx := context.Background()
	conns := make([]*websocket.Conn, *users)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, *url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			log.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil { // connection_established
			log.Fatal(err)
		}
		conns[i] = c
	}
	var chats atomic.Int64
	start := time.Now()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	for i, c := range conns {
		msg := fmt.Appendf(nil, `{"type":"chat","user_id":"bare_%05d","thread_id":"bare_%05d_thread","message":"hello"}`, i, i)
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					log.Fatal(err)
				}
				for range 5 {
					if _, _, err := c.Read(ctx); err != nil {
						log.Fatal(err)
					}
				}
				chats.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("chats %d seconds %.3f chats_per_sec %.1f\n", chats.Load(), el, float64(chats.Load())/el)
}
