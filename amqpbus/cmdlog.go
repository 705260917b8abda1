package amqpbus

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/callgw/callgw/callapi"
)

// cmdLog logs with the command's id and action, building the fields only
// for the entries actually written (no per-command logger on the hot path).
type cmdLog struct {
	l   *zap.Logger
	cmd *callapi.Command
}

func (c cmdLog) write(lvl zapcore.Level, msg string, fs []zap.Field) {
	ce := c.l.Check(lvl, msg)
	if ce == nil {
		return
	}
	if c.cmd != nil {
		fs = append([]zap.Field{zap.String("command_id", c.cmd.ID), zap.String("action", string(c.cmd.Action))}, fs...)
	}
	ce.Write(fs...)
}

func (c cmdLog) Debug(msg string, fs ...zap.Field) { c.write(zapcore.DebugLevel, msg, fs) }
func (c cmdLog) Info(msg string, fs ...zap.Field)  { c.write(zapcore.InfoLevel, msg, fs) }
func (c cmdLog) Warn(msg string, fs ...zap.Field)  { c.write(zapcore.WarnLevel, msg, fs) }
func (c cmdLog) Error(msg string, fs ...zap.Field) { c.write(zapcore.ErrorLevel, msg, fs) }
