/** The refusal an outbound message gets from the parser, on a clock that stands still unless the test brings its own. */
import { expect } from 'vitest';
import { OutboundRefusal, parseOutboundMessage, type ParseOptions } from '../../src/http/outbound/envelope.js';

/**
 * Parses `body` and returns the `OutboundRefusal` it throws (anything else fails the test). The clock
 * stands still unless `options.now` is given, so the time budget never decides a case meant for
 * another limit, however loaded the machine.
 */
export function refusal(body: string, options?: ParseOptions): OutboundRefusal {
  try {
    parseOutboundMessage(body, { now: () => 0, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundRefusal);
    return error as OutboundRefusal;
  }
  throw new Error('expected a refusal, the message was accepted');
}
