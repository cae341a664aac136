package load

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// secretPrefix starts every user's secret token: lbsecret_<16 hex>.
const (
	secretPrefix = "lbsecret_"
	secretHex    = 16
)

// pool is the set of virtual users: ids, threads, secrets and their
// pre-built requests. It is read-only once built.
type pool struct {
	prefix  string
	ids     []string
	threads []string
	secrets []string       // hex part only
	owner   map[string]int // secret hex → user
	// Pre-built request bodies: the HTTP POST body and the WebSocket chat.
	httpBody [][]byte
	wsChat   [][]byte
}

func newPool(prefix string, n int) (*pool, error) { return newPoolAt(prefix, 0, n) }

// newPoolAt is the pool of n users numbered from base (a shard's block).
func newPoolAt(prefix string, base, n int) (*pool, error) {
	p := &pool{
		prefix: prefix, ids: make([]string, n), threads: make([]string, n),
		secrets: make([]string, n), owner: make(map[string]int, n),
		httpBody: make([][]byte, n), wsChat: make([][]byte, n),
	}
	raw := make([]byte, secretHex/2)
	for i := range n {
		for {
			if _, err := rand.Read(raw); err != nil {
				return nil, fmt.Errorf("attack: make secrets: %w", err)
			}
			s := hex.EncodeToString(raw)
			if _, dup := p.owner[s]; !dup {
				p.secrets[i] = s
				p.owner[s] = i
				break
			}
		}
		p.ids[i] = fmt.Sprintf("%s%05d", prefix, base+i)
		p.threads[i] = p.ids[i] + "_thread"
		msg := fmt.Sprintf("hello from %s, my secret is %s%s", p.ids[i], secretPrefix, p.secrets[i])
		hb, err := json.Marshal(struct {
			UserID   string `json:"user_id"`
			ThreadID string `json:"thread_id"`
			Message  string `json:"message"`
		}{p.ids[i], p.threads[i], msg})
		if err != nil {
			return nil, fmt.Errorf("attack: build request: %w", err)
		}
		wb, err := json.Marshal(struct {
			Type     string `json:"type"`
			UserID   string `json:"user_id"`
			ThreadID string `json:"thread_id"`
			Message  string `json:"message"`
		}{"chat", p.ids[i], p.threads[i], msg})
		if err != nil {
			return nil, fmt.Errorf("attack: build request: %w", err)
		}
		p.httpBody[i], p.wsChat[i] = hb, wb
	}
	return p, nil
}

func isHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') }

// foreign returns a short description of the first datum of another user in
// b — a secret that is not user me's, or a user id with the pool's prefix
// that is not me's — or "" when there is none. It allocates nothing when b is
// clean.
func (p *pool) foreign(b []byte, me int) string {
	sp := []byte(secretPrefix)
	for rest := b; ; {
		i := bytes.Index(rest, sp)
		if i < 0 {
			break
		}
		rest = rest[i+len(sp):]
		if len(rest) < secretHex {
			break
		}
		tok := rest[:secretHex]
		ok := true
		for _, c := range tok {
			if !isHex(c) {
				ok = false
				break
			}
		}
		if !ok || string(tok) == p.secrets[me] {
			continue
		}
		if o, known := p.owner[string(tok)]; known {
			return "foreign secret of " + p.ids[o]
		}
		return "foreign secret of an unknown user"
	}
	up := []byte(p.prefix)
	own := p.ids[me]
	for rest := b; ; {
		i := bytes.Index(rest, up)
		if i < 0 {
			break
		}
		rest = rest[i+len(up):]
		n := 0
		for n < len(rest) && n < 12 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			continue
		}
		if n == len(own)-len(p.prefix) && string(rest[:n]) == own[len(p.prefix):] {
			continue
		}
		return "foreign user id " + p.prefix + string(rest[:n])
	}
	return ""
}
