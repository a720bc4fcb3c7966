package localstack

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQS is a local Amazon SQS service for the dead-letter queue: the JSON
// protocol aws-sdk-go-v2's sqs client speaks (AWS JSON 1.0, X-Amz-Target
// AmazonSQS.<Action>), for GetQueueUrl, SendMessage, ReceiveMessage (with
// a visibility timeout), DeleteMessage and GetQueueAttributes' message
// counts. It is hand-written because the local SQS servers available here
// (goaws, sqslite) speak only SQS's older query protocol, which the SDK no
// longer sends; it implements what the project uses, nothing more.
type SQS struct {
	Endpoint string // for AWS_ENDPOINT_URL_SQS

	srv *http.Server

	mu     sync.Mutex
	queues map[string]*sqsQueue // by name
}

type sqsQueue struct {
	name     string
	messages []*sqsMessage
}

type sqsMessage struct {
	id, body, receipt string
	invisibleUntil    time.Time
	receives          int
}

// LocalAccount is the account id the local stack's resources have.
const LocalAccount = "000000000000"

// defaultVisibility is SQS's default visibility timeout.
const defaultVisibility = 30 * time.Second

// StartSQS serves a local SQS with the named queues on addr (a free
// port on 127.0.0.1 when empty).
func StartSQS(addr string, queues ...string) (*SQS, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sqs: %w", err)
	}
	s := &SQS{Endpoint: "http://" + ln.Addr().String(), queues: map[string]*sqsQueue{}}
	for _, q := range queues {
		s.queues[q] = &sqsQueue{name: q}
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the service.
func (s *SQS) Close() error { return s.srv.Close() }

// QueueURL is the URL of the named queue, as GetQueueUrl answers.
func (s *SQS) QueueURL(name string) string {
	return s.Endpoint + "/" + LocalAccount + "/" + name
}

// Send puts body on the named queue, as a service (Lambda's on-failure
// destination) does.
func (s *SQS) Send(name, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return fmt.Errorf("sqs: no queue %q", name)
	}
	q.messages = append(q.messages, &sqsMessage{id: newID(), body: body})
	return nil
}

// Messages returns the bodies of the named queue's messages, visible or
// not, without receiving them.
func (s *SQS) Messages(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if q := s.queues[name]; q != nil {
		for _, m := range q.messages {
			out = append(out, m.body)
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// sqsError answers in the JSON protocol's error shape.
func sqsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", code+";Sender")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}

func (s *SQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		sqsError(w, http.StatusBadRequest, "InvalidAction", "only the JSON protocol (X-Amz-Target: AmazonSQS.<Action>) is served")
		return
	}
	var in struct {
		QueueName, QueueURL, MessageBody, ReceiptHandle string
		MaxNumberOfMessages, VisibilityTimeout          *int
		AttributeNames                                  []string
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		sqsError(w, http.StatusBadRequest, "InvalidParameterValue", "the request body is not JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := in.QueueName
	if in.QueueURL != "" {
		name = in.QueueURL[strings.LastIndex(in.QueueURL, "/")+1:]
	}
	q := s.queues[name]
	if q == nil {
		sqsError(w, http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	var out any
	switch action {
	case "GetQueueUrl":
		out = map[string]string{"QueueUrl": s.QueueURL(name)}
	case "SendMessage":
		m := &sqsMessage{id: newID(), body: in.MessageBody}
		q.messages = append(q.messages, m)
		out = map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)}
	case "ReceiveMessage":
		limit, vis := 1, defaultVisibility
		if in.MaxNumberOfMessages != nil {
			limit = min(max(*in.MaxNumberOfMessages, 1), 10)
		}
		if in.VisibilityTimeout != nil {
			vis = time.Duration(*in.VisibilityTimeout) * time.Second
		}
		now := time.Now()
		msgs := []map[string]string{}
		for _, m := range q.messages {
			if len(msgs) == limit {
				break
			}
			if now.Before(m.invisibleUntil) {
				continue
			}
			m.invisibleUntil, m.receipt = now.Add(vis), newID()
			m.receives++
			msgs = append(msgs, map[string]string{"MessageId": m.id, "ReceiptHandle": m.receipt, "MD5OfBody": md5Hex(m.body), "Body": m.body})
		}
		out = map[string]any{"Messages": msgs}
	case "DeleteMessage":
		i := slices.IndexFunc(q.messages, func(m *sqsMessage) bool { return m.receipt != "" && m.receipt == in.ReceiptHandle })
		if i < 0 {
			sqsError(w, http.StatusBadRequest, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
			return
		}
		q.messages = slices.Delete(q.messages, i, i+1)
		out = struct{}{}
	case "GetQueueAttributes":
		visible, inFlight := 0, 0
		for _, m := range q.messages {
			if time.Now().Before(m.invisibleUntil) {
				inFlight++
			} else {
				visible++
			}
		}
		out = map[string]any{"Attributes": map[string]string{
			"ApproximateNumberOfMessages": strconv.Itoa(visible), "ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		}}
	default:
		sqsError(w, http.StatusBadRequest, "InvalidAction", "action "+action+" is not served locally")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}
