"""Pure decisions behind Protocols: availability policies and replenishment rules."""
