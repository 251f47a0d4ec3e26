// What a closed agent's signalling methods reject with, the same in Node and in the page (whose Worker has
// let the agent go by then): a closed RTCPeerConnection rejects addIceCandidate and setRemoteDescription
// with an InvalidStateError (W3C WebRTC), and so do gather, setRemoteParameters, addRemoteCandidate, restart.
export function closedAgentError(method: string): DOMException {
  return new DOMException(`${method}() on a closed agent`, 'InvalidStateError');
}
