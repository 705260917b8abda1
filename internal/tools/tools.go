//go:build tools

// Package tools pins the module versions the project builds with until each is imported by real code.
package tools

import (
	_ "github.com/CyCoreSystems/ari/v5"
	_ "github.com/CyCoreSystems/ari/v5/client/native"
	_ "github.com/coder/websocket"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/uuid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rabbitmq/amqp091-go"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "golang.org/x/sync/errgroup"
)
