package localstack

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// maxEventBody bounds a notification body; one record is about 1 KB.
const maxEventBody = 1 << 20

// Webhook receives MinIO's bucket notifications, which carry the same JSON
// as S3's (events.S3Event), and hands each record, as an event of its own
// the way S3 invokes Lambda, to Deliver. It answers at once, as S3 does not
// wait for Lambda either.
type Webhook struct {
	Deliver func(eventName, key string, payload []byte) // set before the first notification
	Log     *slog.Logger

	mu     sync.Mutex
	probes map[string]chan struct{}
}

// ExpectProbe returns a channel closed when an event for key arrives. Probe
// events are not passed on to the invoker.
func (h *Webhook) ExpectProbe(key string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probes == nil {
		h.probes = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	h.probes[key] = ch
	return ch
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK) // MinIO may check the endpoint is alive
		return
	}
	var ev events.S3Event
	if err := json.NewDecoder(io.LimitReader(r.Body, maxEventBody)).Decode(&ev); err != nil {
		h.Log.Warn("undecodable notification", "err", err)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	for _, rec := range ev.Records {
		key := rec.S3.Object.URLDecodedKey
		h.mu.Lock()
		ch, isProbe := h.probes[key]
		if isProbe {
			delete(h.probes, key)
		}
		deliver := h.Deliver
		h.mu.Unlock()
		if isProbe {
			close(ch)
			continue
		}
		if strings.TrimSpace(key) == "" || deliver == nil {
			continue
		}
		payload, err := json.Marshal(events.S3Event{Records: []events.S3EventRecord{rec}})
		if err != nil {
			h.Log.Warn("notification not re-encoded", "err", err)
			continue
		}
		deliver(rec.EventName, key, payload)
	}
	w.WriteHeader(http.StatusOK)
}

// SetDeliver sets where records go; until it is set they are dropped, as S3
// drops events for a function that does not exist yet.
func (h *Webhook) SetDeliver(f func(eventName, key string, payload []byte)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Deliver = f
}
