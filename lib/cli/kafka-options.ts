/**
 * The Kafka connection flags the Kafka commands share (`produce`, `topics`, `esm`, `replay`):
 * `--bootstrap`, `--tls`, `--sasl-mechanism`, `--sasl-username`, `--sasl-password` (better: the
 * `LAKELOADER_KAFKA_PASSWORD` environment variable). Without them the commands talk to
 * `lakeloader dev`'s embedded broker at 127.0.0.1:9092.
 */
import type { Command } from 'commander';
import { connectionFromFlags, type KafkaConnection } from '../local/kafka-client';

export interface KafkaFlags {
  bootstrap?: string;
  tls?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
}

/** Adds `--bootstrap` and the TLS/SASL flags to a command. */
export function withKafkaOptions(cmd: Command): Command {
  return withKafkaAuthOptions(cmd.option('--bootstrap <host:port,...>', "Kafka bootstrap servers (default: 127.0.0.1:9092, lakeloader dev's embedded broker)"));
}

/** Adds only the TLS/SASL flags (for a command that names its brokers otherwise). */
export function withKafkaAuthOptions(cmd: Command): Command {
  return cmd
    .option('--tls', 'connect with TLS (system CAs)')
    .option('--sasl-mechanism <m>', 'SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (MSK: SCRAM-SHA-512 with --tls)')
    .option('--sasl-username <name>', 'SASL user name')
    .option('--sasl-password <password>', 'SASL password (prefer the LAKELOADER_KAFKA_PASSWORD environment variable)');
}

/** The connection the flags describe. @throws KafkaConnectionError with what to set */
export function kafkaConnection(flags: KafkaFlags): KafkaConnection {
  return connectionFromFlags(flags);
}
