package broker

// GroupLagWith is groupLag for the external tests: one lag round on a given client.
var GroupLagWith = groupLag
