package server

import (
	"fmt"
	"net/http"
)

// apiError is an error answered with OpenAI's error JSON:
//
//	{"error": {"message": "...", "type": "invalid_request_error", "param": "temperature", "code": null}}
//
// Status is the HTTP status; Param names the request field at fault ("" is
// none, written as null); Code is OpenAI's machine-readable code ("" is
// none).
type apiError struct {
	Status  int
	Type    string
	Param   string
	Code    string
	Message string
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Message }

// badRequest is a 400 invalid_request_error about param.
func badRequest(param, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, a...)}
}

// errorBody is the JSON of e.
func (e *apiError) body() map[string]any {
	inner := map[string]any{"message": e.Message, "type": e.Type, "param": nil, "code": nil}
	if e.Param != "" {
		inner["param"] = e.Param
	}
	if e.Code != "" {
		inner["code"] = e.Code
	}
	return map[string]any{"error": inner}
}

// writeError answers the request with e.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	writeJSON(w, e.Status, e.body())
}
