export { ClusterConnection, KubeconfigError, KubeconfigSource, loadKubeconfig } from './kubeconfig';
export {
  ApiResponse,
  ClusterUnreachableError,
  KubernetesApiClient,
  statusMessage,
} from './kubernetes-api.client';
