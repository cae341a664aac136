package load

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"

	"github.com/loadbench/loadbench/internal/usage"
)

// Chat is what a body template (WithBodyTemplate) is executed with, once per
// chat.
type Chat struct {
	Protocol string // "http" or "ws"
	UserID   string // lb_user_00042
	ThreadID string // lb_user_00042_thread
	Secret   string // the user's secret token, lbsecret_<16 hex>
	Message  string // the default message text, which carries Secret
	Seq      uint64 // the user's chat number, from 0
}

// BodyFuncs are the functions a body template may call besides text/template's
// own: json quotes a string as a JSON string.
var BodyFuncs = template.FuncMap{"json": jsonString}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ParseBodyTemplate parses text as a body template (with BodyFuncs) and
// checks that its output carries the user's secret for both protocols.
// Errors are one line and wrap usage.ErrUsage.
func ParseBodyTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(BodyFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, usage.Errorf("body: parse %s: %s", name, firstLine(err.Error()))
	}
	if err := checkBodyTemplate(t); err != nil {
		return nil, err
	}
	return t, nil
}

// probeChat is the chat a template is tried with before the attack.
func probeChat(protocol string) Chat {
	secret := secretPrefix + "0123456789abcdef"
	return Chat{
		Protocol: protocol, UserID: "lb_user_00000", ThreadID: "lb_user_00000_thread", Secret: secret,
		Message: "hello from lb_user_00000, my secret is " + secret,
	}
}

// checkBodyTemplate runs t for a probe user on both protocols and refuses
// it when it fails or its output lacks the secret.
func checkBodyTemplate(t *template.Template) error {
	for _, proto := range []string{"http", "ws"} {
		c := probeChat(proto)
		var b bytes.Buffer
		if err := t.Execute(&b, c); err != nil {
			return usage.Errorf("body: template %s: %s", t.Name(), firstLine(err.Error()))
		}
		if !strings.Contains(b.String(), c.Secret) {
			return usage.Errorf("body: template %s does not carry the user's secret ({{.Secret}} or {{.Message}}) for %s: isolation could not be checked", t.Name(), proto)
		}
	}
	return nil
}

// chatOf returns the template input of chat seq of user i.
func (p *pool) chatOf(protocol string, i int, seq uint64) Chat {
	secret := secretPrefix + p.secrets[i]
	return Chat{
		Protocol: protocol, UserID: p.ids[i], ThreadID: p.threads[i], Secret: secret, Seq: seq,
		Message: "hello from " + p.ids[i] + ", my secret is " + secret,
	}
}

// render executes the body template for chat seq of user i; on a template
// error (checked at construction, so rare) it falls back to the default
// message.
func (t *transport) render(p *pool, protocol string, i int, seq uint64) []byte {
	var b bytes.Buffer
	if err := t.body.Execute(&b, p.chatOf(protocol, i, seq)); err != nil {
		if protocol == "ws" {
			return p.wsChat[i]
		}
		return p.httpBody[i]
	}
	return b.Bytes()
}
