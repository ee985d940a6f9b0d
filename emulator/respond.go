package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the emulator's own wire types are marshalled here.
		panic("emulator: marshal response: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeDetail answers {"detail": msg}.
func writeDetail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Detail string `json:"detail"`
	}{msg})
}

// validationError is one entry of a FastAPI 422 body.
type validationError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// writeValidation answers 422 {"detail":[…]}.
func writeValidation(w http.ResponseWriter, errs ...validationError) {
	writeJSON(w, http.StatusUnprocessableEntity, struct {
		Detail []validationError `json:"detail"`
	}{errs})
}

// bodyFault is what is wrong with a request body, if anything.
type bodyFault int

const (
	bodyOK        bodyFault = iota
	bodyWrongType           // not the media type the route takes
	bodyTooLarge            // more than maxBody bytes
	bodyInvalid             // unreadable, or (a form) unparseable
)

// hasMediaType reports whether r's Content-Type is mediaType (parameters
// aside).
func hasMediaType(r *http.Request, mediaType string) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == mediaType
}

// sizeFault tells a body over maxBody (bodyTooLarge) from any other error
// reading or parsing it.
func sizeFault(err error) bodyFault {
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return bodyOK
	case errors.As(err, &tooLarge):
		return bodyTooLarge
	default:
		return bodyInvalid
	}
}

// readJSONBody reads an application/json body of at most maxBody bytes.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, bodyFault) {
	if !hasMediaType(r, "application/json") {
		return nil, bodyWrongType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	return body, sizeFault(err)
}

// readForm parses an application/x-www-form-urlencoded body of at most
// maxBody bytes into r.PostForm.
func readForm(w http.ResponseWriter, r *http.Request) bodyFault {
	if !hasMediaType(r, "application/x-www-form-urlencoded") {
		return bodyWrongType
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return sizeFault(r.ParseForm())
}
