package dist

import (
	"bufio"
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/loadbench/loadbench/results"
)

// Protocol constants.
const (
	// Proto is the version of the control protocol; a worker of another is
	// refused at the handshake, as is a worker of another build.
	Proto = 1
	// ClockExchanges is how many NTP-style exchanges a worker makes; the
	// one with the smallest round trip gives the clock offset.
	ClockExchanges = 8
	// Heartbeat is how often a worker running a job says it is alive.
	Heartbeat = 500 * time.Millisecond
	// Silence is how long a worker running a job may say nothing before
	// the coordinator ends the segment naming it.
	Silence = 5 * time.Second
	// Late is how long after the segment's end and the chats' timeout a
	// worker's result may come.
	Late = 5 * time.Second
	// GoLead is how far ahead of the go message the absolute start is.
	GoLead = 300 * time.Millisecond
	// HandshakeTimeout bounds the hello, the clock exchanges and synced.
	HandshakeTimeout = 5 * time.Second
	// MaxSkewShare is the largest spread of the shards' starts, as a share
	// of the segment, for the segment to count as one load.
	MaxSkewShare = 0.01
)

// Message types.
const (
	msgHello   = "hello"
	msgWelcome = "welcome"
	msgRefused = "refused"
	msgClock   = "clock"
	msgSynced  = "synced"
	msgJob     = "job"
	msgReady   = "ready"
	msgGo      = "go"
	msgBeat    = "beat"
	msgResult  = "result"
	msgStop    = "stop"
	msgBye     = "bye"
)

// Message is one line of the protocol; Type says which fields it uses.
type Message struct {
	Type    string `json:"type"`
	Proto   int    `json:"proto,omitempty"`
	Version string `json:"version,omitempty"`
	Index   int    `json:"index"`
	Count   int    `json:"count,omitempty"`
	Host    string `json:"host,omitempty"`
	Error   string `json:"error,omitempty"`
	// Seq numbers the coordinator's jobs; a worker's ready, beat and
	// result carry the job's, so nothing of an abandoned job is mistaken
	// for the current one's.
	Seq int `json:"seq,omitempty"`
	// Clock exchange: T0 the worker's send, T1 and T2 the coordinator's
	// receipt and reply.
	T0 time.Time `json:"t0,omitzero"`
	T1 time.Time `json:"t1,omitzero"`
	T2 time.Time `json:"t2,omitzero"`
	// Offset (coordinator − worker clock) and Delay (round trip) of synced.
	Offset time.Duration `json:"offset_ns,omitempty"`
	Delay  time.Duration `json:"delay_ns,omitempty"`
	Job    *Job          `json:"job,omitempty"`
	Access *Access       `json:"access,omitempty"`
	// Start is the absolute start of go, in the coordinator's clock.
	Start time.Time `json:"start,omitzero"`
	// The counters of beat: the shard's chats so far.
	Sent       int64 `json:"sent,omitempty"`
	Done       int64 `json:"done,omitempty"`
	Errors     int64 `json:"errors,omitempty"`
	Violations int64 `json:"violations,omitempty"`
	// Segment and Skew (how late the shard began, its clock) of result.
	Segment *results.Segment `json:"segment,omitempty"`
	Skew    time.Duration    `json:"skew_ns,omitempty"`
}

// conn is one end of a control connection: JSON lines, writes serialized.
type conn struct {
	c   net.Conn
	dec *json.Decoder
	wmu sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
}

func newConn(c net.Conn) *conn {
	w := bufio.NewWriter(c)
	return &conn{c: c, dec: json.NewDecoder(bufio.NewReader(c)), w: w, enc: json.NewEncoder(w)}
}

// send writes m; a peer that does not take it within Silence is an error.
func (c *conn) send(m Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(Silence))
	if err := c.enc.Encode(m); err != nil {
		return err
	}
	return c.w.Flush()
}

// recv reads the next message (deadline: zero for none).
func (c *conn) recv(deadline time.Time) (Message, error) {
	_ = c.c.SetReadDeadline(deadline)
	var m Message
	err := c.dec.Decode(&m)
	return m, err
}

func (c *conn) close() error { return c.c.Close() }

// bestClock returns the offset and delay of the exchange with the smallest
// delay. Each exchange is T0 (worker send), T1, T2 (coordinator receipt
// and reply) and T3 (worker receipt).
func bestClock(ex [][4]time.Time) (offset, delay time.Duration) {
	delay = -1
	for _, e := range ex {
		d := e[3].Sub(e[0]) - e[2].Sub(e[1])
		o := (e[1].Sub(e[0]) + e[2].Sub(e[3])) / 2
		if delay < 0 || d < delay {
			offset, delay = o, d
		}
	}
	return offset, max(delay, 0)
}
