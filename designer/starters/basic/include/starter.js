// Helpers of the orchweb starter strategy (included as text by the IPD).

// Fill the system context shared by the IPD legs and the included workflow.
function initSystemContext(system) {
  system.InteractionID = undefined;
  system.StartTime = new Date().getTime();
  return system;
}

// Where calls go when no agent can be found.
function defaultDestination() {
  return '7000';
}

// The caller's number (voice interactions), or '' when the platform does not know it.
function callerAni(interactionId) {
  var ixn = _genesys.ixn.interactions[interactionId];
  return (typeof ixn != 'undefined' && typeof ixn.voice != 'undefined') ? ixn.voice.ani : '';
}
