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
