// What a node's monitoring sees of client requests, as a contract apart from any metrics library:
// the HTTP endpoint (src/http/) implements it, and a node without one passes none, so its
// sessions pay one undefined check per request.

/**
 * Told of every client request a session answers. Both calls run on the request's path, so an
 * implementation must not allocate or block: an array lookup and a counter add.
 */
export interface RequestObserver {
  /**
   * A request of wire type `type` (RequestType's code; an unknown code is possible) was answered
   * `seconds` after it was decoded; a query counts until its last rows were written.
   */
  answered(type: number, seconds: number): void;
  /** A FAILURE with this code went to a client. */
  failed(code: number): void;
}
