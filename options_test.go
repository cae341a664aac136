package loadbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadbench/loadbench"
	"github.com/loadbench/loadbench/results"
	"github.com/loadbench/loadbench/targets"
)

// TestAttackBodyAndEngineLimits: Options.Body shapes the HTTP body the
// target receives, MaxSendLag and MaxEventGap reach the engine (their
// limits are recorded in the result; NoSendLagLimit and NoEventGapLimit
// record none), and the summaries render the Result.
func TestAttackBodyAndEngineLimits(t *testing.T) {
	t.Parallel()
	srv, err := targets.New(targets.ImplPerRequest)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	via := map[string]int{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			var req struct {
				Via string `json:"via"`
			}
			if json.Unmarshal(b, &req) == nil {
				mu.Lock()
				via[req.Via]++
				mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.Close(); srv.Close() })

	body, err := loadbench.ParseBody("body.tmpl", `{"type":"chat","user_id":{{json .UserID}},"thread_id":{{json .ThreadID}},"message":{{json .Message}},"via":{{json .Protocol}}}`)
	if err != nil {
		t.Fatal(err)
	}
	base := loadbench.Options{HTTPRate: loadbench.PerSecond(40), WSRate: loadbench.PerSecond(40), Users: 2,
		Duration: 250 * time.Millisecond, Access: loadbench.Access{Body: body}, Arrivals: loadbench.Constant}
	for _, c := range []struct {
		name    string
		lag     time.Duration
		off     bool
		wantLag time.Duration
	}{
		{"default", 0, false, loadbench.DefaultMaxSendLag},
		{"given", 50 * time.Millisecond, false, 50 * time.Millisecond},
		{"off", 0, true, 0},
		{"off wins over a value", 50 * time.Millisecond, true, 0},
	} {
		o := base
		o.MaxSendLag, o.MaxEventGap, o.WSPing = c.lag, c.lag, c.lag
		o.NoSendLagLimit, o.NoEventGapLimit, o.NoWSPing = c.off, c.off, c.off
		res, err := loadbench.Attack(context.Background(), hs.URL, o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, p := range res.Protocols {
			if p.Errors != 0 || p.Answered != 10 {
				t.Errorf("%s: %s answered %d, errors %v", c.name, p.Protocol, p.Answered, p.ErrorClasses)
			}
			if got := res.Segment.Protocols[p.Protocol.String()].SendLagLimit; got != c.wantLag {
				t.Errorf("%s: %s send-lag limit %s, want %s", c.name, p.Protocol, got, c.wantLag)
			}
		}
		var text, js bytes.Buffer
		if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "Isolation") {
			t.Errorf("%s: WriteText: %v\n%s", c.name, err, text.String())
		}
		var sum struct {
			Protocols map[string]struct {
				Requests int64 `json:"requests"`
			} `json:"protocols"`
		}
		if err := res.WriteJSON(&js); err != nil || json.Unmarshal(js.Bytes(), &sum) != nil || sum.Protocols[results.HTTP].Requests != 10 {
			t.Errorf("%s: WriteJSON: %v\n%s", c.name, err, js.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if via["http"] != 40 || len(via) != 1 {
		t.Errorf("bodies seen by the target: %v, want 40 from the template over HTTP", via)
	}
}

func TestParseBodyUsage(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`{"user_id":{{json .UserID}}}`, `{{.Nope}}`, `{{if}}`} {
		if _, err := loadbench.ParseBody("t", bad); !errors.Is(err, loadbench.ErrUsage) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseBody(%q): err = %v, want one usage line", bad, err)
		}
	}
}
