package sim

import (
	"errors"
	"fmt"
)

// Error is a rejection with Binance's code and message, safe to show to
// clients as it is.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Msg, e.Code) }

// Binance's error codes used by the simulator.
const (
	CodeUnknown           = -1000
	CodeTooManyRequests   = -1003
	CodeTooManyOrders     = -1015
	CodeInvalidMessage    = -1013 // filter failures and other request faults
	CodeInvalidTimestamp  = -1021
	CodeInvalidSignature  = -1022
	CodeIllegalChars      = -1100
	CodeTooManyParams     = -1101
	CodeMandatoryParam    = -1102
	CodeUnknownParam      = -1103
	CodeParamEmpty        = -1105
	CodeParamNotRequired  = -1106
	CodeBadPrecision      = -1111
	CodeTIFNotRequired    = -1114
	CodeInvalidTIF        = -1115
	CodeInvalidOrderType  = -1116
	CodeInvalidSide       = -1117
	CodeBadInterval       = -1120
	CodeBadSymbol         = -1121
	CodeInvalidListenKey  = -1125
	CodeInvalidParameter  = -1130
	CodeNewOrderRejected  = -2010
	CodeCancelRejected    = -2011
	CodeNoSuchOrder       = -2013
	CodeBadAPIKeyFormat   = -2014
	CodeRejectedAPIKey    = -2015
	CodeUnsupportedCombo  = -1014
	CodeServiceShutdown   = -1016
	CodeUnsupportedOpertn = -1020
)

// Messages of the matching engine's rejections (Binance's words).
const (
	MsgInsufficientBalance = "Account has insufficient balance for requested action."
	MsgWouldTake           = "Order would immediately match and take."
	MsgWouldTrigger        = "Order would trigger immediately."
	MsgDuplicateOrder      = "Duplicate order sent."
	MsgUnknownOrder        = "Unknown order sent."
	MsgNoSuchOrder         = "Order does not exist."
	MsgMarketClosed        = "Market is closed."
	MsgInvalidSymbol       = "Invalid symbol."
	MsgPriceQtyZero        = "Price * QTY is zero or less."
	MsgNoTrailingStops     = "Trailing stop orders are not supported for this symbol."
)

func reject(code int, msg string) *Error { return &Error{Code: code, Msg: msg} }

func filterFailure(name string) *Error {
	return &Error{Code: CodeInvalidMessage, Msg: "Filter failure: " + name}
}

// MandatoryParam is Binance's -1102 for a missing parameter.
func MandatoryParam(name string) *Error {
	return &Error{Code: CodeMandatoryParam, Msg: fmt.Sprintf("Mandatory parameter '%s' was not sent, was empty/null, or malformed.", name)}
}

// NotRequired is Binance's -1106 for a parameter the order type does not take.
func NotRequired(name string) *Error {
	return &Error{Code: CodeParamNotRequired, Msg: fmt.Sprintf("Parameter '%s' sent when not required.", name)}
}

// IsCode reports whether err is an *Error with this code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
