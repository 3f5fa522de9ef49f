// The static kbunlock only (KB_STATIC_KBUNLOCK): gRPC's core configuration registers, besides
// what a TLS client to one address needs, the xDS resolvers and LB policies, RBAC, fault
// injection and the grpclb, rls, ring_hash, priority, weighted_target and outlier_detection
// policies. Each registration is one member of Debian's libgrpc.a; defined here, the linker
// never takes those members, nor what only they use (re2, most of upb). kbunlock's channels
// use pick_first and the DNS or IP resolver, which stay.
namespace grpc_core {
class CoreConfiguration {
 public:
  class Builder;
};
void RegisterExtraFilters(CoreConfiguration::Builder*) {}
void RegisterRlsLbPolicy(CoreConfiguration::Builder*) {}
void RegisterGrpcLbPolicy(CoreConfiguration::Builder*) {}
void RegisterRingHashLbPolicy(CoreConfiguration::Builder*) {}
void RegisterPriorityLbPolicy(CoreConfiguration::Builder*) {}
void RegisterWeightedTargetLbPolicy(CoreConfiguration::Builder*) {}
void RegisterOutlierDetectionLbPolicy(CoreConfiguration::Builder*) {}
void FaultInjectionFilterRegister(CoreConfiguration::Builder*) {}
void RegisterFakeResolver(CoreConfiguration::Builder*) {}
}  // namespace grpc_core
